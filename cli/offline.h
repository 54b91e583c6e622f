// dropwatch print / dropwatch pcap: stored NDJSON events, read back, filtered
// with the same compiled expression as live (the DAG interpreter, no kernel
// needed), and written as text, NDJSON or pcapng.
#pragma once

#include <string>
#include <vector>

namespace dw::cli {

struct OfflineOptions {
  std::vector<std::string> inputs;  // "-" is standard input
  std::string filter;
  std::string format = "text";  // print: text or json
  std::string pcap_out;         // pcap: the pcapng file
  bool stack = true;
};

// Both return the exit status: 0, 1 (a line that is not an event, each
// reported with its line number; or output failed), 2 (bad filter, an input
// that cannot be read, an output that cannot be written).
int run_print(const OfflineOptions& o);
int run_pcap(const OfflineOptions& o);

}  // namespace dw::cli
