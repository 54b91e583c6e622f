#include "cli/unix_stream.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace dw::cli {

Result<UnixStream> UnixStream::open(std::string_view spec) {
  constexpr std::string_view kScheme = "unix:";
  if (!spec.starts_with(kScheme) || spec.size() == kScheme.size())
    return fail("--output-storage '" + std::string(spec) + "': expected unix:PATH");
  UnixStream s{std::string(spec.substr(kScheme.size()))};
  if (s.path_.size() >= sizeof(sockaddr_un::sun_path))
    return fail("--output-storage: socket path too long: " + s.path_);
  if (!s.connect_now())
    return fail("cannot connect to unix socket " + s.path_ + ": " + std::strerror(errno), errno);
  s.reconnects_ = 0;
  return s;
}

UnixStream::UnixStream(UnixStream&& o) noexcept
    : path_(std::move(o.path_)),
      fd_(std::exchange(o.fd_, -1)),
      last_try_(o.last_try_),
      delivered_(o.delivered_),
      undelivered_(o.undelivered_),
      reconnects_(o.reconnects_) {}

UnixStream::~UnixStream() {
  if (fd_ >= 0) ::close(fd_);
}

bool UnixStream::connect_now() {
  last_try_ = std::chrono::steady_clock::now();
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path_.data(), path_.size());
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    int err = errno;
    ::close(fd);
    errno = err;
    return false;
  }
  fd_ = fd;
  reconnects_++;
  return true;
}

bool UnixStream::send(std::string_view event) {
  if (fd_ < 0 && (std::chrono::steady_clock::now() - last_try_ < std::chrono::milliseconds(200) ||
                  !connect_now())) {
    undelivered_++;
    return false;
  }
  size_t off = 0;
  while (off < event.size()) {
    ssize_t n = ::send(fd_, event.data() + off, event.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      // The reader went away: this event is lost (a part of it may have
      // been sent; the reader sees a cut line and a new connection).
      ::close(std::exchange(fd_, -1));
      undelivered_++;
      return false;
    }
    off += size_t(n);
  }
  delivered_++;
  return true;
}

}  // namespace dw::cli
