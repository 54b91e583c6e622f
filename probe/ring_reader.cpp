#include "probe/ring_reader.h"

#include <linux/bpf.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

namespace dw::probe {
namespace {

uint64_t load_acquire(const void* p) {
  return std::atomic_ref<const uint64_t>(*static_cast<const uint64_t*>(p))
      .load(std::memory_order_acquire);
}

// A record's header word, written by the kernel's commit.
uint32_t header_len(const uint8_t* p) {
  return std::atomic_ref<const uint32_t>(*reinterpret_cast<const uint32_t*>(p))
      .load(std::memory_order_acquire);
}

}  // namespace

Result<std::unique_ptr<RingReader>> RingReader::open(int map_fd, size_t size) {
  std::unique_ptr<RingReader> r(new RingReader());
  r->size_ = size;
  r->page_ = size_t(sysconf(_SC_PAGESIZE));
  void* c = mmap(nullptr, r->page_, PROT_READ | PROT_WRITE, MAP_SHARED, map_fd, 0);
  if (c == MAP_FAILED) return fail_errno("cannot map the ring buffer's consumer page");
  r->consumer_ = c;
  // The data pages come twice in a row: a record that wraps reads straight.
  void* p = mmap(nullptr, r->page_ + 2 * size, PROT_READ, MAP_SHARED, map_fd, off_t(r->page_));
  if (p == MAP_FAILED) return fail_errno("cannot map the ring buffer's data");
  r->producer_ = p;
  r->epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (r->epoll_fd_ < 0) return fail_errno("cannot create an epoll instance");
  epoll_event ev{};
  ev.events = EPOLLIN;
  if (epoll_ctl(r->epoll_fd_, EPOLL_CTL_ADD, map_fd, &ev) < 0)
    return fail_errno("cannot wait on the ring buffer");
  return r;
}

RingReader::~RingReader() {
  if (epoll_fd_ >= 0) close(epoll_fd_);
  if (producer_) munmap(producer_, page_ + 2 * size_);
  if (consumer_) munmap(consumer_, page_);
}

Status RingReader::wait(int timeout_ms) {
  epoll_event ev;
  if (epoll_wait(epoll_fd_, &ev, 1, timeout_ms) < 0 && errno != EINTR)
    return fail_errno("waiting for the ring buffer failed");
  return {};
}

size_t RingReader::consume(size_t max, const RecordFn& fn) {
  auto* cons = static_cast<uint64_t*>(consumer_);
  const uint8_t* data = static_cast<const uint8_t*>(producer_) + page_;
  uint64_t pos = *cons;  // only this reader writes it
  uint64_t published = pos;
  uint64_t prod = load_acquire(producer_);
  size_t n = 0;
  auto publish = [&] {
    std::atomic_ref<uint64_t>(*cons).store(pos, std::memory_order_release);
    published = pos;
  };
  while (n < max) {
    if (pos == prod) {  // caught up: has the producer moved since?
      prod = load_acquire(producer_);
      if (pos == prod) break;
    }
    const uint8_t* rec = data + (pos & (size_ - 1));
    uint32_t len = header_len(rec);
    if (len & BPF_RINGBUF_BUSY_BIT) break;  // reserved, not yet committed
    uint32_t bytes = len & ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
    pos += (bytes + BPF_RINGBUF_HDR_SZ + 7) & ~7u;
    if (!(len & BPF_RINGBUF_DISCARD_BIT)) {
      fn(std::span<const uint8_t>(rec + BPF_RINGBUF_HDR_SZ, bytes));
      n++;
    }
    // Space goes back to the producer a quarter of the ring at a time.
    if (pos - published >= size_ / 4) publish();
  }
  // One store for the batch: the producer reads this line on every reserve.
  if (pos != published) publish();
  return n;
}

}  // namespace dw::probe
