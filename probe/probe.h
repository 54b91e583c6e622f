// The loader: a linked probe object (compiler/link.h) and its knobs ->
// loaded, attached, read, detached, owned by one RAII object. It knows
// nothing of filters or LLVM: whether a filter is linked in is a knob.
// Nothing stays attached once a Probe is destroyed, and a Probe that failed
// to start left nothing behind.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "probe/counters.h"

namespace dw::probe {

enum class AttachMode { Auto, Btf, Tracepoint };

enum class ListMode : uint8_t { Off = 0, Allow = 1, Deny = 2 };

struct DeviceKey {
  uint32_t netns;
  uint32_t ifindex;
};

// The knobs, set as the program's rodata and maps before it is attached.
struct Config {
  uint32_t snaplen = 256;
  bool stack = true;
  uint32_t ringbuf_bytes = 8u << 20;
  AttachMode attach = AttachMode::Auto;
  bool verbose = false;  // libbpf's log, verifier output included
  bool filter = false;   // the object's filter entries are a real filter
  ListMode reason_mode = ListMode::Off;
  std::vector<uint32_t> reasons;
  ListMode device_mode = ListMode::Off;
  std::vector<DeviceKey> devices;
  uint32_t netns = 0;                  // 0: every namespace
  uint32_t max_events_per_second = 0;  // 0: no limit
  // Drops located in these [start, end) address ranges are noise (at most
  // DW_NOISE_MAX of them), counted and not reported.
  std::vector<std::pair<uint64_t, uint64_t>> noise_ranges;
};

class Probe {
 public:
  using RecordFn = std::function<void(std::span<const uint8_t>)>;

  // `elf` is the probe linked with its filters; it is copied.
  static Result<std::unique_ptr<Probe>> start(std::span<const uint8_t> elf, const Config& c);
  ~Probe();
  Probe(const Probe&) = delete;
  Probe& operator=(const Probe&) = delete;

  // Waits up to timeout_ms for the probe's wakeup. The probe wakes us only
  // when a lot is waiting, so callers also consume on a timer. A signal
  // ends the wait early (not an error).
  Status wait(int timeout_ms);
  // Hands at most `max` waiting records to fn, oldest first, without
  // waiting; returns how many. Bounded, so that a storm never keeps the
  // caller from its other work.
  Result<size_t> consume(size_t max, const RecordFn& fn);
  // Detaches the program: no new records; those in the ring buffer can
  // still be consumed, and the counters read.
  void detach();
  Counters counters() const;
  // "tp_btf/kfree_skb" or "tracepoint/skb/kfree_skb".
  const std::string& attach_point() const { return attach_point_; }
  // Program id, for tests that check nothing stays loaded.
  uint32_t program_id() const;

 private:
  struct State;
  explicit Probe(std::unique_ptr<State> s);
  static Result<std::unique_ptr<State>> try_start(const Config& c, bool btf,
                                                  std::span<const uint8_t> elf);
  static int on_record(void* ctx, void* data, size_t size);
  std::unique_ptr<State> s_;
  std::string attach_point_;
};

}  // namespace dw::probe
