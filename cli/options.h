// dropwatch's command line: every flag of the live run and of the offline
// commands, parsed and checked (CLI11, man-page --help) into plain structs.
// Names are resolved later (cli/resolve.h), against the running kernel.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace dw::cli {

// The live run: dropwatch [OPTIONS].
struct WatchOptions {
  // Output
  std::string format;  // "json" or "text"
  uint32_t snaplen = 256;
  std::string write_path;  // -w: pcapng
  bool print = false;      // with -w, events too
  std::string output_file;
  uint64_t file_size = 0;   // -C, bytes; 0: no rotation
  uint32_t file_count = 0;  // -W
  bool packet_data = false;
  bool follow_symlinks = false;
  std::string metrics_addr;
  size_t metrics_series = 1000;
  std::string storage_spec;  // unix:PATH
  bool stack = true;
  uint32_t stack_budget = 2000;  // stacks per second; 0: every one
  bool track = false;            // --track: the path before the drop
  bool nft_trace = false;        // --nft-trace: the rule behind NETFILTER_DROP
  std::string task_id;           // --task-id: in every event
  uint32_t track_max = 8192;
  double summary_secs = 0;
  size_t top = 10;
  // Stopping
  uint64_t count = 0;
  double duration = 0;
  // Filtering
  std::string filter;
  std::string filter_origin = "filter";  // -F: the file, for the error's FILE:LINE:COLUMN
  std::string devices, devices_excluded, netns, reasons_allow, reasons_deny;
  uint32_t max_events_per_second = 0;
  std::vector<std::string> noise_patterns;
  bool default_noise = true;
  bool list_noise = false, list_reasons = false;
  // Advanced
  uint32_t ringbuf_mib = 8;
  std::string attach = "auto";
  bool verbose = false;
};

// dropwatch print / dropwatch pcap: stored NDJSON events.
struct OfflineOptions {
  std::vector<std::string> inputs;  // "-" is standard input
  std::string filter;
  std::string format = "text";  // print: text or json
  std::string pcap_out;         // pcap: the pcapng file
  size_t top = 10;              // summary: rows
  bool stack = true;
  bool follow_symlinks = false;
};

struct Command {
  enum class Kind { Watch, Print, Pcap, Summary, Reasons } kind = Kind::Watch;
  WatchOptions watch;
  OfflineOptions offline;
  std::vector<std::string> reason_names;  // dropwatch reasons [NAME...]
};

// The command to run, or the exit status when there is nothing to run
// (--help printed, or a bad command line reported on stderr: 2).
std::variant<Command, int> parse_command_line(int argc, char** argv);

}  // namespace dw::cli
