// Running the dropwatch binary in tests: start it, wait for its ready line,
// read its NDJSON events and exit summary.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/binaries.h"
#include "tests/support/process.h"

namespace dw::test {

// Starts dropwatch with `args` (prefix, e.g. {"ip", "netns", "exec", "x"},
// comes first when given) and waits for "dropwatch: watching". Null when it
// did not attach; its stderr is then in *why.
inline std::unique_ptr<Process> start_dropwatch(
    std::vector<std::string> args, std::string* why = nullptr, std::vector<std::string> prefix = {},
    std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  args.insert(args.begin(), dropwatch_path());
  args.insert(args.begin(), prefix.begin(), prefix.end());
  auto p = std::make_unique<Process>(args);
  if (!p->wait_stderr("dropwatch: watching", timeout)) {
    if (why) *why = p->stderr_text();
    return nullptr;
  }
  return p;
}

inline std::vector<nlohmann::json> parse_events(const std::vector<std::string>& lines) {
  std::vector<nlohmann::json> out;
  for (const auto& l : lines) {
    auto j = nlohmann::json::parse(l, nullptr, false);
    if (!j.is_discarded()) out.push_back(std::move(j));
  }
  return out;
}

// Numbers from the exit summary: "N drops seen", "N events emitted",
// "N lost", "N written", "N by the filter", "N rate-limited", ...
inline std::map<std::string, unsigned long long> summary_counts(const std::string& err) {
  std::map<std::string, unsigned long long> out;
  static const char* const kKeys[] = {"drops seen", "events emitted", "lost",
                                      "written",    "by reason",      "by namespace",
                                      "by device",  "by the filter",  "rate-limited"};
  for (const char* k : kKeys) {
    size_t pos = err.rfind(std::string(" ") + k);
    if (pos == std::string::npos) continue;
    size_t start = err.find_last_of(" ,:", pos - 1);
    out[k] = std::strtoull(err.substr(start + 1, pos - start - 1).c_str(), nullptr, 10);
  }
  return out;
}

}  // namespace dw::test
