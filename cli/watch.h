// The live run, `dropwatch [OPTIONS]`: names resolved against the running
// kernel, the filter compiled and linked into the probe, the outputs opened
// (all before anything is attached, so bad input leaves nothing behind),
// then the probe started and the event loop run until the end.
#pragma once

#include "cli/options.h"

namespace dw::cli {

// The exit status (cli/exit_codes.h).
int run_watch(const WatchOptions& w);

}  // namespace dw::cli
