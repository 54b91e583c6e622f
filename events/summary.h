// --summary: a periodic top-N table of the drops shown, by reason, location
// and device, like top for drops (and once more at exit, for the whole run).
// The tables go to standard output, between or instead of events.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <tuple>

#include "events/event.h"
#include "events/record_stream.h"
#include "events/sink.h"

namespace dw::events {

class DropSummary : public Sink {
 public:
  // A table of the last `period` seconds every period (0: only at exit),
  // written to `out`.
  DropSummary(size_t top, double period, RecordStream* out);

  void write(const DropEvent& ev) override { add(ev); }
  void flush(const Tick& t) override;
  // The whole run's table.
  void close(Clock::time_point deadline) override;

  void add(const DropEvent& ev);
  // The table of the drops added since the last interval, over `seconds`;
  // starts a new interval.
  std::string interval(double seconds);
  // The table of every drop added, over the whole run.
  std::string total(double seconds) const;

  // reason, location, device ("eth0 netns 4026531840", "-" without one)
  using Key = std::tuple<std::string, std::string, std::string>;
  // Rows kept; drops of further (reason, location, device) combinations
  // are added up in one row "other", so memory stays bounded.
  static constexpr size_t kMaxRows = 10000;

 private:
  std::string table(const std::map<Key, uint64_t>& counts, double seconds,
                    const std::string& title) const;

  size_t top_;
  double period_;
  RecordStream* out_;
  Clock::time_point started_, next_;
  std::map<Key, uint64_t> interval_, total_;
};

}  // namespace dw::events
