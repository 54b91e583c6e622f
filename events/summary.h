// --summary: a periodic top-N table of the drops shown, by reason, location
// and device, like top for drops (and once more at exit, for the whole run).
// The tables go to standard output, between or instead of events.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "events/event.h"
#include "events/record_stream.h"
#include "events/sink.h"

namespace dw::events {

class DropSummary : public Sink {
 public:
  // A table of the last `period` seconds every period (0: only at exit),
  // written to `out`. `from_counts`: the tables come from the kernel's drop
  // table (Tick::counts), exact whatever events were lost or rate-limited;
  // else from the events written.
  DropSummary(size_t top, double period, RecordStream* out, bool from_counts = false);

  void write(const DropEvent& ev) override {
    if (!from_counts_) add(ev);
  }
  void flush(const Tick& t) override;
  // The whole run's table.
  void close(Clock::time_point deadline) override;

  void add(const DropEvent& ev);
  // The kernel's drop table, cumulative: replaces the whole run's counts.
  void set_counts(const std::vector<CountedDrops>& rows);
  // The table of the drops added since the last interval, over `seconds`;
  // starts a new interval.
  std::string interval(double seconds);
  // The table of every drop added, over the whole run.
  std::string total(double seconds) const;
  // The same for stored events: `title` says what was read, instead of
  // the clock and "whole run".
  std::string stored(double seconds, const std::string& title) const;

  // reason, location, device ("eth0 netns 4026531840", "-" without one)
  using Key = std::tuple<std::string, std::string, std::string>;
  // Rows kept; drops of further (reason, location, device) combinations
  // are added up in one row "other", so memory stays bounded.
  static constexpr size_t kMaxRows = 10000;

 private:
  std::string table(const std::map<Key, uint64_t>& counts, double seconds, const std::string& title,
                    bool clock = true) const;

  size_t top_;
  double period_;
  RecordStream* out_;
  bool from_counts_;
  Clock::time_point started_, next_;
  std::map<Key, uint64_t> interval_, total_;
  std::map<Key, uint64_t> at_interval_;  // from_counts: total_ when the interval began
};

}  // namespace dw::events
