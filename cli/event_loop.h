// The live loop: the probe's records, read in bounded batches, decoded,
// checked against the noise rules' stack frames, given their cgroup paths,
// and handed to every sink. Between batches: sinks flushed, signals, the
// deadline and --count looked at, losses reported each second. A storm
// therefore never starves the rest: memory is the ring buffer plus each
// sink's bounded queue, and a signal ends the run within one batch.
//
// At the end the probe is detached and what is still in its ring buffer is
// read too: every event emitted is written, or counted where it stopped.
#pragma once

#include <signal.h>

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "events/cgroups.h"
#include "events/event.h"
#include "events/noise.h"
#include "events/sink.h"
#include "probe/nft_trace.h"
#include "probe/probe.h"

namespace dw::cli {

using events::Clock;

struct LoopLimits {
  uint64_t count = 0;  // events; 0: no limit
  Clock::time_point deadline = Clock::time_point::max();
  const volatile sig_atomic_t* stop = nullptr;  // set by SIGINT/SIGTERM
  bool counts = false;  // a sink wants the kernel's drop table (Tick::counts)
  std::string task_id;  // --task-id, put in every event
};

class EventLoop {
 public:
  // Records handed to the sinks between two looks at the clock: ~5 ms of
  // work at the slowest (stacks symbolized and printed as text).
  static constexpr size_t kBatch = 1024;
  // How long the end of the run may wait for slow readers.
  static constexpr auto kDrainTime = std::chrono::milliseconds(500);

  EventLoop(probe::Probe& probe, const events::EventDecoder& decoder,
            const events::NoiseRules& noise, std::vector<events::Sink*> sinks, LoopLimits limits)
      : probe_(probe),
        decoder_(decoder),
        noise_(noise),
        sinks_(std::move(sinks)),
        limits_(std::move(limits)) {}

  // --nft-trace: NETFILTER_DROP events take their rule from the tracer.
  void explain_with(probe::NftTracer* nft) { nft_ = nft; }
  // Until a signal, --count, --duration, a sink's failure or its end. The
  // error is the ring buffer's; a sink's is failure().
  Status run();
  // Detaches the probe, reads what is left in its ring buffer, closes the
  // sinks (waiting at most kDrainTime for slow readers).
  void finish();
  // The exit report: the probe's counters, the loop's, each sink's.
  std::string report() const;
  // The first sink error (a file that could not be written), or null.
  const Error* failure() const { return failure_; }
  bool sink_done() const;

 private:
  void on_record(std::span<const uint8_t> rec);
  void attribute_rule();
  void flush(Clock::time_point now);
  void report_losses(Clock::time_point now);
  // The kernel's drop table with names, less what the stack-frame noise
  // rules suppressed here.
  const std::vector<events::CountedDrops>* read_counts(Clock::time_point now, bool force);
  bool stopping() const;
  std::string counters_report() const;

  probe::Probe& probe_;
  const events::EventDecoder& decoder_;
  const events::NoiseRules& noise_;
  std::vector<events::Sink*> sinks_;
  LoopLimits limits_;
  events::CgroupPaths cgroups_;
  events::DropEvent ev_;
  probe::Counters final_;     // read after the probe was detached and drained
  probe::Counters reported_;  // at the last loss line
  Clock::time_point last_report_ = Clock::now();
  uint64_t written_ = 0, malformed_ = 0, noise_stack_ = 0, after_count_ = 0;
  // (reason, location, netns, ifindex) -> drops suppressed by a stack frame
  std::map<std::tuple<uint32_t, uint64_t, uint32_t, int32_t>, uint64_t> noise_by_key_;
  std::unordered_map<uint64_t, std::string> location_names_;
  std::vector<events::CountedDrops> counts_;
  Clock::time_point counts_read_{};
  const Error* failure_ = nullptr;
  probe::NftTracer* nft_ = nullptr;
  uint64_t nft_attributed_ = 0, nft_unattributed_ = 0;
};

}  // namespace dw::cli
