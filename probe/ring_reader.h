// The reading end of a BPF ring buffer (BPF_MAP_TYPE_RINGBUF), mapped into
// this process. libbpf's reader publishes its position after every record;
// every publish is a store to the line the kernel reads on each reserve, on
// another CPU. This one publishes once per batch, so a storm's producer
// finds that line in its own cache (docs/performance.md).
#ifndef DW_PROBE_RING_READER_H
#define DW_PROBE_RING_READER_H

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>

#include "common/result.h"

namespace dw::probe {

class RingReader {
 public:
  using RecordFn = std::function<void(std::span<const uint8_t>)>;

  // Maps the ring buffer map `map_fd` of `size` bytes (its max_entries).
  static Result<std::unique_ptr<RingReader>> open(int map_fd, size_t size);
  ~RingReader();
  RingReader(const RingReader&) = delete;
  RingReader& operator=(const RingReader&) = delete;

  // Waits up to timeout_ms for a wakeup from the producer (a signal ends
  // the wait early, not an error).
  Status wait(int timeout_ms);
  // Hands at most `max` committed records to fn, oldest first, without
  // waiting; stops at a record still being written. Returns how many.
  size_t consume(size_t max, const RecordFn& fn);

 private:
  RingReader() = default;
  int epoll_fd_ = -1;
  size_t size_ = 0;
  size_t page_ = 0;
  void* consumer_ = nullptr;  // the consumer page: our position, writable
  void* producer_ = nullptr;  // the producer page, then the data twice
};

}  // namespace dw::probe

#endif  // DW_PROBE_RING_READER_H
