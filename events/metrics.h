// --metrics ADDR:PORT: Prometheus exposition of the drops dropwatch reports
// and of every probe counter (bpf/dropwatch_abi.h's list). The HTTP side is
// events/metrics_server.h.
//
// Label cardinality is bounded: at most `max_series` (reason, location
// function, device, netns) series; drops of any further combination go to
// the series whose labels are all "other".
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "events/event.h"
#include "events/sink.h"
#include "probe/counters.h"

namespace dw::events {

class Metrics : public Sink {
 public:
  // `from_counts`: dropwatch_drops_total comes from the kernel's drop table
  // (Tick::counts), exact whatever events were lost; else from the events.
  explicit Metrics(size_t max_series, bool from_counts = false)
      : max_series_(max_series), from_counts_(from_counts) {}
  void write(const DropEvent& ev) override {
    if (!from_counts_) add(ev);
  }
  void flush(const Tick& t) override {
    set_probe(t.probe, t.noise_stack);
    if (from_counts_ && t.counts) set_counts(*t.counts);
  }

  void add(const DropEvent& ev);
  // The kernel's drop table, cumulative: replaces the drop series.
  void set_counts(const std::vector<CountedDrops>& rows);
  void set_probe(const probe::Counters& c, uint64_t noise_stack);
  // The exposition text (version 0.0.4); called from the server's thread.
  std::string render() const;

 private:
  void render_probe(std::string& out) const;

  using Key = std::tuple<std::string, std::string, std::string, uint32_t>;
  mutable std::mutex mu_;
  size_t max_series_;
  bool from_counts_;
  std::map<Key, uint64_t> drops_;
  uint64_t overflow_ = 0;
  probe::Counters probe_;
  uint64_t noise_stack_ = 0;
};

}  // namespace dw::events
