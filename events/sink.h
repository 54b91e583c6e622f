// Where events go. The live loop (cli/event_loop.cpp) and the offline commands
// (cli/offline.cpp) hand every event to each sink of a list, call flush()
// between batches, close() once at the end, and build the exit report from
// what each sink says it did. A sink never blocks the loop: what it cannot
// take now it counts, and its report says so.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "events/event.h"
#include "probe/counters.h"

namespace dw::events {

using Clock = std::chrono::steady_clock;

// A row of the kernel's drop table (probe::DropCount) with its names: what
// --summary and --metrics show. Cumulative since the start of the run.
struct CountedDrops {
  uint32_t reason_code = 0;
  std::string reason;    // "NO_SOCKET", "other" for the overflow row
  std::string location;  // "__udp4_lib_rcv+0x4bc"
  uint32_t netns = 0;
  int32_t ifindex = 0;
  std::string ifname;
  uint64_t drops = 0;
};

// What the loop knows at a flush: the time, and the counters so far.
struct Tick {
  Clock::time_point now;
  probe::Counters probe;     // the probe's counters
  uint64_t noise_stack = 0;  // drops suppressed in userspace by a stack frame
  // The drop table when it was read at this flush (about every 100 ms and
  // at the end), else null.
  const std::vector<CountedDrops>* counts = nullptr;
};

class Sink {
 public:
  virtual ~Sink() = default;
  // One event; never blocks.
  virtual void write(const DropEvent& ev) = 0;
  // Moves buffered output on and does periodic work; never blocks.
  virtual void flush(const Tick& t) { (void)t; }
  // The last output, waiting for a slow reader at most until `deadline`.
  virtual void close(Clock::time_point deadline) { (void)deadline; }
  // The sink's lines of the exit report, each "dropwatch: ...\n"; may be
  // empty. After close().
  virtual std::string report() const { return ""; }
  // An error that ends the run with exit status 1 (a file that cannot be
  // written), or null.
  virtual const Error* failure() const { return nullptr; }
  // Nothing more can be delivered and that is no error: the reader of
  // standard output went away (as for any filter in a pipeline).
  virtual bool done() const { return false; }
};

}  // namespace dw::events
