// What the running kernel offers the probe, read from its BTF before
// anything is loaded, and said in one line when something is missing: a
// Debian 11 host (5.10) runs dropwatch, without drop reasons.
#pragma once

#include <string>

#include "common/result.h"

namespace dw::probe {

struct KernelFeatures {
  std::string release;        // uname -r
  bool drop_reasons = true;   // kfree_skb's reason (5.17)
  bool rx_sk = true;          // kfree_skb's receiving socket (6.11)
  bool task_btf = true;       // bpf_get_current_task_btf() (5.11)
  bool socket_cgroup = true;  // sock_cgroup_data.cgroup (5.15)
  // Global functions may take pointers (5.12, as bpf_check_mtu()): the
  // compiled filter is verified once, on its own. Before, it is verified as
  // a static function in each caller (probe/filter_linkage.h).
  bool global_func_pointers = true;
  // The probe's filter may read packets in place: bpf_rdonly_cast() to
  // untrusted memory (BTF id 0) loads. Known by loading a tiny program, so
  // only for the running kernel (in_place_reads_supported()).
  bool in_place_reads = true;

  // From /sys/kernel/btf/vmlinux (`btf_path` for tests).
  static Result<KernelFeatures> detect(const std::string& btf_path = "/sys/kernel/btf/vmlinux");
  // "kernel 5.10.0-32-amd64 lacks drop reasons (5.17+: ...), ..." or empty.
  std::string lacking() const;
};

// Loads a 6-instruction program that calls bpf_rdonly_cast(ptr, 0) and
// reads through the result; cached. Needs CAP_BPF.
bool in_place_reads_supported();

}  // namespace dw::probe
