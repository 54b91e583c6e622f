#include "events/unix_stream.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "events/format.h"

namespace dw::events {

constexpr auto kRetry = std::chrono::milliseconds(200);

Result<UnixStream> UnixStream::open(std::string_view spec, size_t max_queue) {
  constexpr std::string_view kScheme = "unix:";
  if (!spec.starts_with(kScheme) || spec.size() == kScheme.size())
    return fail("--output-storage '" + std::string(spec) + "': expected unix:PATH");
  UnixStream s{std::string(spec.substr(kScheme.size())), max_queue};
  if (s.path_.size() >= sizeof(sockaddr_un::sun_path))
    return fail("--output-storage: socket path too long: " + s.path_);
  if (auto ok = s.connect_now(); !ok)
    return fail("cannot connect to unix socket " + s.path_ + ": " + std::strerror(ok.error().code),
                ok.error().code);
  s.reconnects_ = 0;
  return s;
}

// Non-blocking, like every write: a listener whose backlog is full is a
// failed attempt, retried later.
Status UnixStream::connect_now() {
  last_try_ = Clock::now();
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return fail_errno("socket");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path_.data(), path_.size());
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    int err = errno;
    ::close(fd);
    return fail_errno("connect", err);
  }
  conn_.emplace(RecordStream::adopt_socket(fd, "unix:" + path_, max_queue_));
  reconnects_++;
  return {};
}

// The reader went away: what it had not taken is lost (a line may have
// been cut; the reader sees a new connection after it).
void UnixStream::drop_connection(Clock::time_point deadline) {
  if (!conn_) return;
  RecordStream& c = *conn_;
  (void)c.close(deadline);
  delivered_ += c.written();
  undelivered_ += c.records() - c.written();
  conn_.reset();
}

bool UnixStream::send(std::string_view event) {
  if (conn_ && conn_->failed()) drop_connection(Clock::now());
  if (!conn_ && (Clock::now() - last_try_ < kRetry || !connect_now())) {
    undelivered_++;
    return false;
  }
  return conn_ && conn_->add(event);
}

void UnixStream::write(const DropEvent& ev) {
  buf_.clear();
  format_json(ev, buf_, false);
  send(buf_);
}

void UnixStream::flush(const Tick&) {
  if (!conn_) return;
  if (!conn_->pump()) drop_connection(Clock::now());
}

void UnixStream::close(Clock::time_point deadline) {
  if (conn_) drop_connection(deadline);
}

std::string UnixStream::report() const {
  return "dropwatch: " + std::to_string(delivered()) + " events sent to unix:" + path_ + ", " +
         std::to_string(undelivered()) + " not delivered (reader away), " +
         std::to_string(reconnects()) + " reconnects\n";
}

}  // namespace dw::events
