// Drop-reason names from the running kernel's BTF, never from a table of
// ours: values move between kernel releases (Red Hat, "An update on packet
// drop reasons in Linux", 2024).
#pragma once

#include <bpf/btf.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace dw::probe {

class DropReasons {
 public:
  // Reads /sys/kernel/btf/vmlinux and every module BTF beside it.
  static Result<DropReasons> from_kernel(const std::string& btf_dir = "/sys/kernel/btf");
  // Core reasons from `base`; subsystem reasons from enums named *drop_reason*
  // in `base` and `extra` (module BTFs split on top of base).
  static DropReasons from_btf(const btf* base, const std::vector<const btf*>& extra = {});

  // "NO_SOCKET", a subsystem's own name, or "UNKNOWN(<n>)"; "UNREPORTED"
  // on a kernel without drop reasons (before 5.17).
  std::string name(uint32_t code) const;
  // "core", "openvswitch", ... from enum skb_drop_reason_subsys.
  std::string subsystem(uint32_t code) const;
  std::optional<uint32_t> code(const std::string& name) const;
  const std::map<uint32_t, std::string>& all() const { return names_; }
  // The kernel has enum skb_drop_reason (5.17+).
  bool reported() const { return reported_; }

  static constexpr unsigned kSubsysShift = 16;

 private:
  std::map<uint32_t, std::string> names_;
  bool reported_ = false;
  std::map<uint32_t, std::string> subsystems_;  // subsystem id -> name
};

}  // namespace dw::probe
