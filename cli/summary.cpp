#include "cli/summary.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <vector>

namespace dw::cli {

void DropSummary::add(const DropEvent& ev) {
  std::string dev = ev.ifindex ? (ev.ifname.empty() ? "if" + std::to_string(ev.ifindex) : ev.ifname) +
                                     " netns " + std::to_string(ev.netns)
                               : "-";
  Key k{ev.reason, ev.location, std::move(dev)};
  interval_[k]++;
  total_[k]++;
}

std::string DropSummary::interval(double seconds) {
  char title[64];
  std::snprintf(title, sizeof(title), "last %.1f s", seconds);
  std::string out = table(interval_, seconds, title);
  interval_.clear();
  return out;
}

std::string DropSummary::total(double seconds) const {
  char title[64];
  std::snprintf(title, sizeof(title), "whole run, %.1f s", seconds);
  return table(total_, seconds, title);
}

std::string DropSummary::table(const std::map<Key, uint64_t>& counts, double seconds,
                               const std::string& title) const {
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
  size_t wr = 6, wl = 8;
  for (size_t i = 0; i < shown; i++) {
    wr = std::max(wr, std::get<0>(*rows[i].second).size());
    wl = std::max(wl, std::get<1>(*rows[i].second).size());
  }
  std::string out;
  char line[512];
  time_t now = time(nullptr);
  tm t;
  localtime_r(&now, &t);
  char clock[16];
  strftime(clock, sizeof(clock), "%H:%M:%S", &t);
  std::snprintf(line, sizeof(line), "-- %s drops by reason, location and device: %s, %llu drops\n",
                clock, title.c_str(), (unsigned long long)all);
  out += line;
  std::snprintf(line, sizeof(line), "%10s %10s  %-*s  %-*s  %s\n", "DROPS", "PER SEC", int(wr),
                "REASON", int(wl), "LOCATION", "DEVICE");
  out += line;
  for (size_t i = 0; i < shown; i++) {
    const auto& [reason, location, dev] = *rows[i].second;
    std::snprintf(line, sizeof(line), "%10llu %10.1f  %-*s  %-*s  %s\n",
                  (unsigned long long)rows[i].first, seconds > 0 ? rows[i].first / seconds : 0.0,
                  int(wr), reason.c_str(), int(wl), location.c_str(), dev.c_str());
    out += line;
  }
  if (rows.size() > shown) {
    uint64_t rest = 0;
    for (size_t i = shown; i < rows.size(); i++) rest += rows[i].first;
    std::snprintf(line, sizeof(line), "%10llu %10.1f  (%zu more)\n", (unsigned long long)rest,
                  seconds > 0 ? rest / seconds : 0.0, rows.size() - shown);
    out += line;
  }
  return out;
}

}  // namespace dw::cli
