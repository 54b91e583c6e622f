#include "events/metrics.h"

#include <vector>

#include "events/noise.h"

#ifndef DW_VERSION
#define DW_VERSION "0.1.0"
#endif

namespace dw::events {
namespace {

// Label values escaped as the exposition format requires.
std::string label(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

void family(std::string& out, std::string_view name, std::string_view help,
            const char* type = "counter") {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n# TYPE ");
  out.append(name).append(" ").append(type).append("\n");
}

void sample(std::string& out, std::string_view name, std::string_view labels, uint64_t v) {
  out.append(name);
  if (!labels.empty()) out.append("{").append(labels).append("}");
  out.append(" ").append(std::to_string(v)).append("\n");
}

}  // namespace

void Metrics::add(const DropEvent& ev) {
  Key k{ev.reason, std::string(function_of(ev.location)), ev.ifname, ev.netns};
  std::lock_guard<std::mutex> l(mu_);
  auto it = drops_.find(k);
  if (it != drops_.end()) {
    it->second++;
  } else if (drops_.size() < max_series_) {
    drops_.emplace(std::move(k), 1);
  } else {
    overflow_++;
  }
}

// A series, once admitted, stays (its counter never goes back); rows of
// further label sets beyond the limit add up under "other".
void Metrics::set_counts(const std::vector<CountedDrops>& rows) {
  std::map<Key, uint64_t> drops;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (const auto& [k, n] : drops_) drops.emplace(k, 0);
  }
  uint64_t overflow = 0;
  for (const CountedDrops& r : rows) {
    if (r.reason == "other" && r.location == "other") {
      overflow += r.drops;
      continue;
    }
    Key k{r.reason, std::string(function_of(r.location)), r.ifname, r.netns};
    auto it = drops.find(k);
    if (it != drops.end())
      it->second += r.drops;
    else if (drops.size() < max_series_)
      drops.emplace(std::move(k), r.drops);
    else
      overflow += r.drops;
  }
  std::lock_guard<std::mutex> l(mu_);
  drops_ = std::move(drops);
  overflow_ = overflow;
}

void Metrics::set_probe(const probe::Counters& c, uint64_t noise_stack) {
  std::lock_guard<std::mutex> l(mu_);
  probe_ = c;
  noise_stack_ = noise_stack;
}

// One family per metric name of the counter list, its samples together (the
// format requires it), in the list's order; the noise suppressed in
// userspace joins the kernel's.
void Metrics::render_probe(std::string& out) const {
  const auto& info = probe::counter_info();
  std::vector<bool> done(info.size());
  for (size_t i = 0; i < info.size(); i++) {
    if (done[i]) continue;
    family(out, info[i].metric, info[i].help);
    for (size_t j = i; j < info.size(); j++) {
      if (info[j].metric != info[i].metric) continue;
      done[j] = true;
      sample(out, info[j].metric, info[j].label, probe_.v[j]);
    }
    if (info[i].kind == probe::CounterKind::NOISE)
      sample(out, info[i].metric, "where=\"stack\"", noise_stack_);
  }
}

std::string Metrics::render() const {
  std::lock_guard<std::mutex> l(mu_);
  std::string out;
  family(out, "dropwatch_drops_total",
         "Drops that passed the gates and the filter (the kernel's drop table), by drop reason, "
         "function that dropped, device and network namespace.");
  for (const auto& [k, n] : drops_) {
    const auto& [reason, fn, dev, netns] = k;
    sample(out, "dropwatch_drops_total",
           "reason=\"" + label(reason) + "\",location=\"" + label(fn) + "\",device=\"" +
               label(dev) + "\",netns=\"" + std::to_string(netns) + "\"",
           n);
  }
  if (overflow_)
    sample(out, "dropwatch_drops_total",
           "reason=\"other\",location=\"other\",device=\"other\",netns=\"other\"", overflow_);
  render_probe(out);
  family(out, "dropwatch_build_info", "dropwatch's version.", "gauge");
  sample(out, "dropwatch_build_info", "version=\"" DW_VERSION "\"", 1);
  family(out, "dropwatch_metrics_series", "Label sets of dropwatch_drops_total, at most the limit.",
         "gauge");
  sample(out, "dropwatch_metrics_series", "", drops_.size());
  return out;
}

}  // namespace dw::events
