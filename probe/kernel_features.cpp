#include "probe/kernel_features.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <linux/bpf.h>
#include <sys/utsname.h>

#include <unistd.h>

#include <cstring>
#include <memory>

namespace dw::probe {
namespace {

struct BtfDeleter {
  void operator()(btf* b) const { btf__free(b); }
};

bool has_member(const btf* b, const char* type, const char* member) {
  int id = btf__find_by_name_kind(b, type, BTF_KIND_STRUCT);
  if (id < 0) return false;
  const btf_type* t = btf__type_by_id(b, id);
  const struct btf_member* m = btf_members(t);
  for (unsigned i = 0; i < btf_vlen(t); i++, m++)
    if (std::strcmp(btf__name_by_offset(b, m->name_off), member) == 0) return true;
  return false;
}

bool has_enumerator(const btf* b, const char* type, const char* name) {
  int id = btf__find_by_name_kind(b, type, BTF_KIND_ENUM);
  if (id < 0) return false;
  const btf_type* t = btf__type_by_id(b, id);
  const struct btf_enum* e = btf_enum(t);
  for (unsigned i = 0; i < btf_vlen(t); i++, e++)
    if (std::strcmp(btf__name_by_offset(b, e->name_off), name) == 0) return true;
  return false;
}

}  // namespace

bool in_place_reads_supported() {
  static const bool ok = [] {
    std::unique_ptr<btf, BtfDeleter> b(btf__load_vmlinux_btf());
    if (!b) return false;
    int id = btf__find_by_name_kind(b.get(), "bpf_rdonly_cast", BTF_KIND_FUNC);
    if (id <= 0) return false;  // before 6.2
    // The probe's own program type (tp_btf on kfree_skb), so the answer holds
    // for the capabilities the probe runs with: a networking type such as
    // SCHED_CLS would also need CAP_NET_ADMIN, which dropwatch does not have
    // in its least-privilege deployments (docs/deploy.md).
    int target = btf__find_by_name_kind(b.get(), "btf_trace_kfree_skb", BTF_KIND_TYPEDEF);
    if (target <= 0) return false;
    const bpf_insn insns[] = {
        {BPF_ALU64 | BPF_MOV | BPF_K, 1, 0, 0, 0},  // r1 = 0 (the pointer is ignored)
        {BPF_ALU64 | BPF_MOV | BPF_K, 2, 0, 0, 0},  // r2 = 0: untrusted memory
        {BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_KFUNC_CALL, 0, id},
        {BPF_LDX | BPF_MEM | BPF_B, 0, 0, 0, 0},  // r0 = *(u8 *)r0, fault-safe
        {BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0},
        {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
    };
    LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_TRACE_RAW_TP,
                .attach_btf_id = static_cast<__u32>(target));
    int fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, "dw_in_place", "GPL", insns,
                           sizeof(insns) / sizeof(insns[0]), &opts);
    if (fd < 0) return false;
    close(fd);
    return true;
  }();
  return ok;
}

Result<KernelFeatures> KernelFeatures::detect(const std::string& btf_path) {
  std::unique_ptr<btf, BtfDeleter> b(btf__parse(btf_path.c_str(), nullptr));
  if (!b)
    return fail("cannot read kernel BTF at " + btf_path +
                ": dropwatch needs a kernel built with CONFIG_DEBUG_INFO_BTF=y");
  KernelFeatures f;
  utsname u{};
  if (uname(&u) == 0) f.release = u.release;
  // The tracepoint's fields follow its arguments, also those of tp_btf.
  f.drop_reasons = has_member(b.get(), "trace_event_raw_kfree_skb", "reason");
  f.rx_sk = has_member(b.get(), "trace_event_raw_kfree_skb", "rx_sk");
  f.task_btf = has_enumerator(b.get(), "bpf_func_id", "BPF_FUNC_get_current_task_btf");
  f.socket_cgroup = has_member(b.get(), "sock_cgroup_data", "cgroup");
  f.global_func_pointers = has_enumerator(b.get(), "bpf_func_id", "BPF_FUNC_check_mtu");
  if (btf_path == "/sys/kernel/btf/vmlinux") f.in_place_reads = in_place_reads_supported();
  return f;
}

std::string KernelFeatures::lacking() const {
  std::string out;
  auto add = [&](bool have, const char* what) {
    if (have) return;
    out += out.empty() ? "" : "; ";
    out += what;
  };
  add(drop_reasons, "drop reasons (5.17+): events say reason UNREPORTED, --reason selects nothing");
  add(socket_cgroup, "the socket's cgroup (5.15+): no cgroup_path or container_id");
  add(rx_sk, "the receiving socket (6.11+): drops in a socket's receive path show no socket");
  add(task_btf, "task fields through BTF (5.11+): read through helpers, ~100 ns more per event");
  add(in_place_reads,
      "in-place packet reads (bpf_rdonly_cast to untrusted memory): a filter reads a copy of "
      "the headers, ~50 ns more per drop");
  return out.empty() ? "" : "kernel " + release + " lacks " + out;
}

}  // namespace dw::probe
