// The loader: open -> configure -> load -> attach -> poll -> detach, owned by
// one RAII object. Nothing stays attached once a Probe is destroyed, and a
// Probe that failed to start left nothing behind.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "probe/result.h"

namespace dw {
namespace filter {
struct Dag;
}  // namespace filter

enum class AttachMode { kAuto, kBtf, kTracepoint };

enum class ListMode : uint8_t { kOff = 0, kAllow = 1, kDeny = 2 };

struct DeviceKey {
  uint32_t netns;
  uint32_t ifindex;
};

struct ProbeOptions {
  uint32_t snaplen = 256;
  bool stack = true;
  uint32_t ringbuf_bytes = 8u << 20;
  AttachMode attach = AttachMode::kAuto;
  bool verbose = false;  // libbpf's log, verifier output included
  // The compiled filter's two entry points; both null: no filter.
  const filter::Dag* link_filter = nullptr;  // frames from the MAC header
  const filter::Dag* net_filter = nullptr;   // packets from the IP header
  ListMode reason_mode = ListMode::kOff;
  std::vector<uint32_t> reasons;
  ListMode device_mode = ListMode::kOff;
  std::vector<DeviceKey> devices;
  uint32_t netns = 0;                 // 0: every namespace
  uint32_t max_events_per_second = 0;  // 0: no limit
  // Drops located in these [start, end) address ranges are noise (at most
  // DW_NOISE_MAX of them), counted and not reported.
  std::vector<std::pair<uint64_t, uint64_t>> noise_ranges;
};

// Sums over CPUs of bpf/dropwatch.h's struct dw_counters.
struct ProbeCounters {
  uint64_t seen = 0, reason_rejected = 0, netns_rejected = 0, device_rejected = 0,
           filtered = 0, no_header_filtered = 0, rate_limited = 0, lost = 0, emitted = 0,
           no_header = 0, noise = 0;
};

class Probe {
 public:
  using RecordFn = std::function<void(std::span<const uint8_t>)>;

  static Result<std::unique_ptr<Probe>> start(const ProbeOptions& opts);
  ~Probe();
  Probe(const Probe&) = delete;
  Probe& operator=(const Probe&) = delete;

  // Hands every record waiting in the ring buffer to fn. Waits up to
  // timeout_ms for a wakeup first; the probe wakes us only when a lot is
  // waiting, so callers poll on a timer.
  Result<int> poll(int timeout_ms, const RecordFn& fn);
  ProbeCounters counters() const;
  // "tp_btf/kfree_skb" or "tracepoint/skb/kfree_skb".
  const std::string& attach_point() const { return attach_point_; }
  // Program id, for tests that check nothing stays loaded.
  uint32_t program_id() const;

 private:
  struct State;
  explicit Probe(std::unique_ptr<State> s);
  static Result<std::unique_ptr<State>> try_start(const ProbeOptions& o, bool btf,
                                                  const std::vector<uint8_t>& elf);
  static int on_record(void* ctx, void* data, size_t size);
  std::unique_ptr<State> s_;
  std::string attach_point_;
};

}  // namespace dw
