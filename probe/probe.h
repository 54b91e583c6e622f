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
#include "common/rodata.h"
#include "probe/counters.h"

namespace dw::probe {

// Auto: tp_btf in place, else tp_btf with a copy, else the classic
// tracepoint. BtfCopy: tp_btf, the filter on a copy (for comparisons).
enum class AttachMode { Auto, Btf, BtfCopy, Tracepoint };

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
  // Kernel stacks per second over all CPUs; the events beyond go without
  // one (flagged, counted). 0: a stack for every event.
  uint32_t stack_budget = 0;
  // false: drops are only counted in the kernel (drop_counts()), no event.
  bool events = true;
  // Drops located in these [start, end) address ranges are noise (at most
  // DW_NOISE_MAX of them), counted and not reported.
  std::vector<std::pair<uint64_t, uint64_t>> noise_ranges;
  // --track: record kept packets at the net:* tracepoints on their way and
  // attach the path to their drop. Needs BTF tracepoints.
  bool track = false;
  uint32_t track_max = 8192;  // skbs tracked at once (LRU)
};

// One row of the in-kernel drop table: drops that passed the gates and
// the filter, summed over the CPUs.
struct DropCount {
  uint64_t location = 0;  // kDropCountOther: keys with no free slot
  uint32_t reason = 0;
  uint32_t netns = 0;
  int32_t ifindex = 0;
  std::string ifname;  // as the device was named when first counted
  uint64_t drops = 0;
};
inline constexpr uint64_t kDropCountOther = ~0ull;

class Probe {
 public:
  using RecordFn = std::function<void(std::span<const uint8_t>)>;

  // The knobs of `c` as the program's read-only globals, for the linker to
  // fold in (compiler/link.h); start() writes the same into .rodata.
  static Result<std::vector<RodataValue>> rodata(const Config& c);
  // `elf` is the probe linked with its filters and rodata(c); it is copied.
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
  // The drop table, a row per key (at most DW_COUNT_SLOTS), the overflow
  // last as location kDropCountOther.
  std::vector<DropCount> drop_counts() const;
  // "tp_btf/kfree_skb" or "tracepoint/skb/kfree_skb".
  const std::string& attach_point() const { return attach_point_; }
  // The filter reads packets where they lie (tp_btf with bpf_rdonly_cast);
  // false: it reads a copy of their headers.
  bool in_place() const { return in_place_; }
  // Why the in-place entry was not used, when it was tried and refused.
  const std::string& in_place_refused() const { return in_place_refused_; }
  // Program id, for tests that check nothing stays loaded.
  uint32_t program_id() const;

 private:
  struct State;
  explicit Probe(std::unique_ptr<State> s);
  enum class Entry { InPlace, Copy, Tracepoint };
  static Result<std::unique_ptr<State>> try_start(const Config& c, Entry entry,
                                                  std::span<const uint8_t> elf);
  std::unique_ptr<State> s_;
  std::string attach_point_;
  bool in_place_ = false;
  std::string in_place_refused_;
};

}  // namespace dw::probe
