#include "events/metrics_server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

namespace dw::events {
namespace {

// ADDR:PORT -> a listening socket (our own, so that errors name the cause).
Result<int> listen_on(const std::string& spec) {
  size_t colon = spec.rfind(':');
  if (colon == std::string::npos)
    return fail("--metrics '" + spec + "': expected ADDR:PORT, e.g. 127.0.0.1:9464");
  std::string host = spec.substr(0, colon), port_s = spec.substr(colon + 1);
  char* end = nullptr;
  long port = std::strtol(port_s.c_str(), &end, 10);
  if (port_s.empty() || *end || port < 1 || port > 65535)
    return fail("--metrics '" + spec + "': '" + port_s + "' is not a port");
  sockaddr_storage ss{};
  socklen_t len;
  int family;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    family = a->sin6_family = AF_INET6;
    a->sin6_port = htons(uint16_t(port));
    if (inet_pton(AF_INET6, host.substr(1, host.size() - 2).c_str(), &a->sin6_addr) != 1)
      return fail("--metrics '" + spec + "': '" + host + "' is not an IPv6 address");
    len = sizeof(*a);
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    family = a->sin_family = AF_INET;
    a->sin_port = htons(uint16_t(port));
    if (host.empty())
      a->sin_addr.s_addr = htonl(INADDR_ANY);
    else if (inet_pton(AF_INET, host.c_str(), &a->sin_addr) != 1)
      return fail("--metrics '" + spec + "': '" + host + "' is not an IPv4 address");
    len = sizeof(*a);
  }
  int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  int one = 1;
  if (fd >= 0) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || listen(fd, 128) != 0) {
    int err = errno;
    if (fd >= 0) close(fd);
    return fail_errno("--metrics: cannot listen on " + spec, err);
  }
  return fd;
}

MHD_Result answer(MHD_Connection* c, unsigned status, const std::string& body) {
  MHD_Response* r = MHD_create_response_from_buffer(body.size(), const_cast<char*>(body.data()),
                                                    MHD_RESPMEM_MUST_COPY);
  MHD_add_response_header(r, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
  MHD_Result ok = MHD_queue_response(c, status, r);
  MHD_destroy_response(r);
  return ok;
}

MHD_Result access_handler(void* cls, MHD_Connection* c, const char* url, const char* method,
                          const char*, const char*, size_t*, void**) {
  return MetricsServer::on_request(cls, c, url, method) ? MHD_YES : MHD_NO;
}

}  // namespace

int MetricsServer::on_request(void* self, void* connection, const char* url, const char* method) {
  auto* s = static_cast<MetricsServer*>(self);
  auto* c = static_cast<MHD_Connection*>(connection);
  if (std::strcmp(method, "GET") != 0 && std::strcmp(method, "HEAD") != 0)
    return answer(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET\n") == MHD_YES;
  if (std::strcmp(url, "/metrics") == 0) {
    s->scrapes_++;
    return answer(c, MHD_HTTP_OK, s->metrics_.render()) == MHD_YES;
  }
  if (std::strcmp(url, "/") == 0)
    return answer(c, MHD_HTTP_OK, "dropwatch: metrics at /metrics\n") == MHD_YES;
  return answer(c, MHD_HTTP_NOT_FOUND, "not found\n") == MHD_YES;
}

Result<std::unique_ptr<MetricsServer>> MetricsServer::start(const std::string& spec,
                                                            const Metrics& metrics) {
  auto fd = listen_on(spec);
  if (!fd) return std::unexpected(fd.error());
  std::unique_ptr<MetricsServer> s(new MetricsServer(metrics));
  s->fd_ = *fd;
  s->daemon_ =
      MHD_start_daemon(MHD_USE_EPOLL_INTERNAL_THREAD, 0, nullptr, nullptr, &access_handler, s.get(),
                       MHD_OPTION_LISTEN_SOCKET, s->fd_, MHD_OPTION_CONNECTION_TIMEOUT,
                       kIdleSeconds, MHD_OPTION_CONNECTION_MEMORY_LIMIT, kRequestBytes,
                       MHD_OPTION_CONNECTION_LIMIT, kMaxConnections, MHD_OPTION_END);
  if (!s->daemon_) {
    close(s->fd_);
    return fail("--metrics: cannot serve HTTP on " + spec + " (libmicrohttpd failed to start)");
  }
  s->fd_ = -1;  // the daemon's now: MHD_stop_daemon() closes it
  return s;
}

MetricsServer::~MetricsServer() {
  if (daemon_) MHD_stop_daemon(daemon_);  // joins its thread
  if (fd_ >= 0) close(fd_);
}

}  // namespace dw::events
