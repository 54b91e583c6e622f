// dropwatch print / pcap / summary: stored NDJSON events, read back, filtered
// with the same compiled expression as live (the DAG interpreter, no kernel
// needed), and handed to the same sinks as live: the printer (text or
// NDJSON) or the pcapng writer.
#pragma once

#include "cli/options.h"

namespace dw::cli {

// Both return the exit status: 0, 1 (a line that is not an event, each
// reported with its line number; or output failed), 2 (bad filter, an input
// that cannot be read, an output that cannot be written).
int run_print(const OfflineOptions& o);
int run_pcap(const OfflineOptions& o);
// dropwatch summary: the --summary table of stored events, on stdout.
int run_summary(const OfflineOptions& o);

}  // namespace dw::cli
