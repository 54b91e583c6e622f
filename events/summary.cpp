#include "events/summary.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <ctime>
#include <vector>

#include "events/text.h"

namespace dw::events {

DropSummary::DropSummary(size_t top, double period, RecordStream* out, bool from_counts)
    : top_(top), period_(period), out_(out), from_counts_(from_counts), started_(Clock::now()) {
  next_ = started_ + std::chrono::duration_cast<Clock::duration>(
                         std::chrono::duration<double>(period_ > 0 ? period_ : 1e9));
}

namespace {

std::string device(int32_t ifindex, const std::string& ifname, uint32_t netns) {
  if (!ifindex) return "-";
  return (ifname.empty() ? "if" + std::to_string(ifindex) : ifname) + " netns " +
         std::to_string(netns);
}

}  // namespace

void DropSummary::add(const DropEvent& ev) {
  Key k{ev.reason, ev.location, device(ev.ifindex, ev.ifname, ev.netns)};
  if (!total_.count(k) && total_.size() >= kMaxRows) k = {"other", "other", "other"};
  interval_[k]++;
  total_[k]++;
}

void DropSummary::set_counts(const std::vector<CountedDrops>& rows) {
  total_.clear();
  for (const CountedDrops& r : rows) {
    Key k = r.reason == "other" && r.location == "other"
                ? Key{"other", "other", "other"}
                : Key{r.reason, r.location, device(r.ifindex, r.ifname, r.netns)};
    if (r.drops) total_[k] += r.drops;
  }
  interval_.clear();
  for (const auto& [k, n] : total_) {
    auto it = at_interval_.find(k);
    uint64_t before = it == at_interval_.end() ? 0 : it->second;
    if (n > before) interval_[k] = n - before;
  }
}

void DropSummary::flush(const Tick& t) {
  if (from_counts_ && t.counts) set_counts(*t.counts);
  if (period_ <= 0 || t.now < next_) return;
  out_->add(interval(period_), /*counted=*/false);
  next_ += std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(period_));
  if (next_ < t.now) next_ = t.now;  // a stalled loop does not print a burst of tables
}

void DropSummary::close(Clock::time_point) {
  double run = std::chrono::duration<double>(Clock::now() - started_).count();
  out_->add(total(run), /*counted=*/false);
}

std::string DropSummary::interval(double seconds) {
  char title[64];
  std::snprintf(title, sizeof(title), "last %.1f s", seconds);
  std::string out = table(interval_, seconds, title);
  interval_.clear();
  if (from_counts_) at_interval_ = total_;
  return out;
}

std::string DropSummary::total(double seconds) const {
  char title[64];
  std::snprintf(title, sizeof(title), "whole run, %.1f s", seconds);
  return table(total_, seconds, title);
}

std::string DropSummary::stored(double seconds, const std::string& title) const {
  return table(total_, seconds, title, false);
}

std::string DropSummary::table(const std::map<Key, uint64_t>& counts, double seconds,
                               const std::string& title, bool with_clock) const {
  std::vector<std::pair<uint64_t, const Key*>> rows;
  uint64_t all = 0;
  for (const auto& [k, n] : counts) {
    rows.emplace_back(n, &k);
    all += n;
  }
  // Most drops first; ties in key order, so the table is stable.
  std::stable_sort(rows.begin(), rows.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  size_t shown = std::min(rows.size(), top_);
  // Kernel strings, escaped for the terminal (events/text.h).
  std::vector<std::array<std::string, 3>> cells;
  size_t wr = 6, wl = 8;
  for (size_t i = 0; i < shown; i++) {
    const auto& [reason, location, dev] = *rows[i].second;
    cells.push_back({escaped(reason), escaped(location), escaped(dev)});
    wr = std::max(wr, cells.back()[0].size());
    wl = std::max(wl, cells.back()[1].size());
  }
  time_t now = time(nullptr);
  tm t;
  localtime_r(&now, &t);
  char clock[16];
  strftime(clock, sizeof(clock), "%H:%M:%S", &t);
  std::string out;
  appendf(out, "-- %s%sdrops by reason, location and device: %s, %llu drops\n",
          with_clock ? clock : "", with_clock ? " " : "", title.c_str(), (unsigned long long)all);
  appendf(out, "%10s %10s  %-*s  %-*s  %s\n", "DROPS", "PER SEC", int(wr), "REASON", int(wl),
          "LOCATION", "DEVICE");
  auto rate = [&](uint64_t n) { return seconds > 0 ? double(n) / seconds : 0.0; };
  for (size_t i = 0; i < shown; i++)
    appendf(out, "%10llu %10.1f  %-*s  %-*s  %s\n", (unsigned long long)rows[i].first,
            rate(rows[i].first), int(wr), cells[i][0].c_str(), int(wl), cells[i][1].c_str(),
            cells[i][2].c_str());
  if (rows.size() > shown) {
    uint64_t rest = 0;
    for (size_t i = shown; i < rows.size(); i++) rest += rows[i].first;
    appendf(out, "%10llu %10.1f  (%zu more)\n", (unsigned long long)rest, rate(rest),
            rows.size() - shown);
  }
  return out;
}

}  // namespace dw::events
