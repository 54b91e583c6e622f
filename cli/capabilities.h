// What dropwatch needs from the kernel's capability system, checked before
// anything is loaded, so that a missing one is named instead of surfacing as
// EPERM from deep inside libbpf. docs/deploy.md explains each.
#pragma once

#include <cstdint>
#include <fstream>
#include <string>

namespace dw::cli {

// Effective capabilities of this process (CapEff in /proc/self/status).
inline uint64_t effective_capabilities() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.starts_with("CapEff:")) return std::stoull(line.substr(7), nullptr, 16);
  return 0;
}

// The missing ones, "CAP_BPF (load the probe), ..."; empty when all are there.
// CAP_SYS_ADMIN stands in for CAP_BPF and CAP_PERFMON, as in the kernel.
inline std::string missing_capabilities(uint64_t eff) {
  constexpr int kSysAdmin = 21, kSyslog = 34, kPerfmon = 38, kBpf = 39;
  auto has = [eff](int cap) { return (eff >> cap) & 1; };
  std::string out;
  auto need = [&](bool ok, const char* what) {
    if (ok) return;
    if (!out.empty()) out += ", ";
    out += what;
  };
  need(has(kBpf) || has(kSysAdmin), "CAP_BPF (load the probe)");
  need(has(kPerfmon) || has(kSysAdmin), "CAP_PERFMON (attach it to a tracepoint, read stacks)");
  need(has(kSyslog), "CAP_SYSLOG (read kernel addresses to name functions)");
  return out;
}

}  // namespace dw::cli
