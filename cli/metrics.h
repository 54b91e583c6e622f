// --metrics ADDR:PORT: Prometheus exposition of the drops dropwatch reports
// and of every probe counter, served over HTTP by one thread.
//
// Label cardinality is bounded: at most `max_series` (reason, location
// function, device, netns) series; drops of any further combination go to
// the series whose labels are all "other".
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <tuple>

#include "probe/event.h"
#include "probe/probe.h"
#include "probe/result.h"

namespace dw::cli {

class Metrics {
 public:
  explicit Metrics(size_t max_series) : max_series_(max_series) {}
  void add(const DropEvent& ev);
  void set_probe(const ProbeCounters& c, uint64_t noise_stack);
  std::string render() const;

 private:
  using Key = std::tuple<std::string, std::string, std::string, uint32_t>;
  mutable std::mutex mu_;
  size_t max_series_;
  std::map<Key, uint64_t> drops_;
  uint64_t overflow_ = 0;
  ProbeCounters probe_;
  uint64_t noise_stack_ = 0;
};

class MetricsServer {
 public:
  // "127.0.0.1:9464", "[::1]:9464", ":9464" (every address). Listens at
  // once, so a bad address or a port in use fails before the probe loads.
  static Result<std::unique_ptr<MetricsServer>> start(const std::string& addr_port,
                                                      const Metrics& metrics);
  ~MetricsServer();
  uint64_t scrapes() const { return scrapes_; }

 private:
  MetricsServer(int fd, const Metrics& m) : fd_(fd), metrics_(m) {}
  void serve();

  int fd_;
  const Metrics& metrics_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> scrapes_{0};
  std::thread thread_;
};

}  // namespace dw::cli
