// dropwatch: report the packets the kernel drops, why and where.
// main() only dispatches: the command line (options.h), the live run
// (watch.h), the offline commands (offline.h).
#include <variant>

#include "cli/offline.h"
#include "cli/options.h"
#include "cli/reasons.h"
#include "cli/watch.h"

int main(int argc, char** argv) {
  auto parsed = dw::cli::parse_command_line(argc, argv);
  if (const int* status = std::get_if<int>(&parsed)) return *status;
  const auto& cmd = std::get<dw::cli::Command>(parsed);
  switch (cmd.kind) {
    case dw::cli::Command::Kind::Print: return dw::cli::run_print(cmd.offline);
    case dw::cli::Command::Kind::Pcap: return dw::cli::run_pcap(cmd.offline);
    case dw::cli::Command::Kind::Summary: return dw::cli::run_summary(cmd.offline);
    case dw::cli::Command::Kind::Reasons: return dw::cli::run_reasons(cmd.reason_names);
    case dw::cli::Command::Kind::Watch: break;
  }
  return dw::cli::run_watch(cmd.watch);
}
