#include "cli/event_loop.h"

#include <algorithm>
#include <cstdio>

namespace dw::cli {

using events::Tick;
using probe::Counter;
using probe::CounterKind;

bool EventLoop::sink_done() const {
  return std::any_of(sinks_.begin(), sinks_.end(), [](const events::Sink* s) { return s->done(); });
}

bool EventLoop::stopping() const {
  return (limits_.stop && *limits_.stop) || (limits_.count && written_ >= limits_.count) ||
         Clock::now() >= limits_.deadline || failure_ || sink_done();
}

void EventLoop::on_record(std::span<const uint8_t> rec) {
  if (limits_.count && written_ >= limits_.count) {
    after_count_++;
    return;
  }
  if (!decoder_.decode(rec, ev_)) {
    malformed_++;
    return;
  }
  ev_.task_id = limits_.task_id;
  if (noise_.match(ev_)) {
    noise_stack_++;
    noise_by_key_[{ev_.reason_code, ev_.location_addr, ev_.netns, ev_.ifindex}]++;
    return;
  }
  // Before 5.17 no drop has a reason: a trace with the same headers whose
  // verdict was drop is what says it was netfilter's.
  if (nft_ && (ev_.reason == "NETFILTER_DROP" || ev_.reason == "UNREPORTED")) attribute_rule();
  if (ev_.sk_cgroup_id) {
    const events::CgroupPaths::Cgroup& cg = cgroups_.lookup(ev_.sk_cgroup_id);
    ev_.cgroup_path = cg.path;
    ev_.container_id = cg.container_id;
  }
  for (events::Sink* s : sinks_) s->write(ev_);
  written_++;
}

// The trace was queued on the netlink socket before the packet was freed,
// so before its event could be read: one more read of the socket after a
// miss finds a trace that came in since the last.
void EventLoop::attribute_rule() {
  size_t net = ev_.link == LinkType::Ethernet ? 14 + 4 * ev_.layers.vlans.size() : 0;
  if (ev_.packet.size() <= net) {
    nft_unattributed_ += ev_.reason == "NETFILTER_DROP";
    return;
  }
  std::span<const uint8_t> bytes(ev_.packet.data() + net, ev_.packet.size() - net);
  ev_.nft = nft_->claim(bytes);
  if (!ev_.nft) {
    nft_->drain();
    ev_.nft = nft_->claim(bytes);
  }
  if (ev_.nft)
    nft_attributed_++;
  else if (ev_.reason == "NETFILTER_DROP")
    nft_unattributed_++;
}

const std::vector<events::CountedDrops>* EventLoop::read_counts(Clock::time_point now, bool force) {
  if (!limits_.counts || (!force && now - counts_read_ < std::chrono::milliseconds(100)))
    return nullptr;
  counts_read_ = now;
  counts_.clear();
  for (const probe::DropCount& r : probe_.drop_counts()) {
    events::CountedDrops c;
    c.reason_code = r.reason;
    c.netns = r.netns;
    c.ifindex = r.ifindex;
    c.ifname = r.ifname;
    c.drops = r.drops;
    if (r.location == probe::kDropCountOther) {
      c.reason = c.location = "other";
    } else {
      c.reason = decoder_.reason_name(r.reason);
      auto [it, fresh] = location_names_.try_emplace(r.location);
      if (fresh) it->second = decoder_.location_name(r.location);
      c.location = it->second;
      auto noise = noise_by_key_.find({r.reason, r.location, r.netns, r.ifindex});
      if (noise != noise_by_key_.end()) c.drops -= std::min(c.drops, noise->second);
    }
    counts_.push_back(std::move(c));
  }
  return &counts_;
}

void EventLoop::flush(Clock::time_point now) {
  Tick t{now, probe_.counters(), noise_stack_, read_counts(now, false)};
  for (events::Sink* s : sinks_) {
    s->flush(t);
    if (!failure_) failure_ = s->failure();
  }
  if (now - last_report_ < std::chrono::seconds(1)) return;
  // Losses as they happen, over the time since the last such line.
  uint64_t lost = t.probe[Counter::lost] - reported_[Counter::lost];
  uint64_t limited = t.probe[Counter::rate_limited] - reported_[Counter::rate_limited];
  if (lost || limited)
    std::fprintf(stderr,
                 "dropwatch: over %.1f s: %llu events lost (ring buffer full), %llu suppressed "
                 "by --max-events-per-second\n",
                 std::chrono::duration<double>(now - last_report_).count(),
                 (unsigned long long)lost, (unsigned long long)limited);
  reported_ = t.probe;
  last_report_ = now;
}

Status EventLoop::run() {
  const probe::Probe::RecordFn fn = [this](std::span<const uint8_t> r) { on_record(r); };
  while (!stopping()) {
    if (nft_) nft_->drain();
    auto got = probe_.consume(kBatch, fn);
    if (!got) return std::unexpected(got.error());
    flush(Clock::now());
    if (*got == kBatch) continue;  // more is waiting
    auto until =
        std::min(limits_.deadline - Clock::now(), Clock::duration(std::chrono::milliseconds(100)));
    int ms = int(
        std::max<int64_t>(0, std::chrono::duration_cast<std::chrono::milliseconds>(until).count()));
    if (auto ok = probe_.wait(ms); !ok) return ok;
  }
  return {};
}

void EventLoop::finish() {
  probe_.detach();
  auto deadline = Clock::now() + kDrainTime;
  const probe::Probe::RecordFn fn = [this](std::span<const uint8_t> r) { on_record(r); };
  // A program still running on another CPU may add a record after the
  // detach: read until the ring is empty and the counters stand still.
  for (int round = 0; round < 100; round++) {
    probe::Counters before = probe_.counters();
    for (;;) {
      auto got = probe_.consume(kBatch, fn);
      if (!got || *got == 0) break;
      flush(Clock::now());
    }
    final_ = probe_.counters();
    if (final_ == before) break;
  }
  Tick t{Clock::now(), final_, noise_stack_, read_counts(Clock::now(), true)};
  for (events::Sink* s : sinks_) {
    s->flush(t);
    s->close(deadline);
    if (!failure_) failure_ = s->failure();
  }
}

std::string EventLoop::counters_report() const {
  const auto& info = probe::counter_info();
  auto n = [&](Counter c) {
    return std::to_string(final_[c]) + " " + std::string(info[size_t(c)].phrase);
  };
  std::string out = "dropwatch: " + n(Counter::seen) + ", " + n(Counter::emitted) + ", " +
                    n(Counter::lost) + ", " + std::to_string(written_) + " written\n";
  if (final_[Counter::counted])
    out += "dropwatch: " + n(Counter::counted) + " (no output asked for events)\n";
  if (final_[Counter::stack_skipped]) out += "dropwatch: " + n(Counter::stack_skipped) + "\n";
  if (final_[Counter::count_overflow]) out += "dropwatch: " + n(Counter::count_overflow) + "\n";
  if (final_.sum(CounterKind::NOISE) || noise_stack_)
    out += "dropwatch: noise suppressed: " + n(Counter::noise) + ", " +
           std::to_string(noise_stack_) + " by a stack frame\n";
  if (final_.sum(CounterKind::GATE)) {
    std::string gates;
    for (size_t i = 0; i < info.size(); i++)
      if (info[i].kind == CounterKind::GATE) gates += (gates.empty() ? "" : ", ") + n(Counter(i));
    out += "dropwatch: not shown: " + gates + "\n";
  }
  for (size_t i = 0; i < info.size(); i++)
    if (info[i].kind == CounterKind::LOSS && Counter(i) != Counter::lost && final_.v[i])
      out += "dropwatch: " + n(Counter(i)) + "\n";
  if (after_count_)
    out += "dropwatch: " + std::to_string(after_count_) +
           " events arrived after --count was reached, not shown\n";
  return out;
}

std::string EventLoop::report() const {
  std::string out = counters_report();
  for (const events::Sink* s : sinks_) out += s->report();
  if (malformed_)
    out += "dropwatch: " + std::to_string(malformed_) + " malformed records skipped\n";
  if (nft_) {
    out += "dropwatch: --nft-trace: " + std::to_string(nft_attributed_) +
           " drops attributed to a rule, " + std::to_string(nft_unattributed_) +
           " NETFILTER_DROP events without a matching trace";
    if (nft_->lost()) out += ", traces lost " + std::to_string(nft_->lost()) + " times";
    out += "\n";
  }
  return out;
}

}  // namespace dw::cli
