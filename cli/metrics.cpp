#include "cli/metrics.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "cli/noise.h"

#ifndef DW_VERSION
#define DW_VERSION "0.1.0"
#endif

namespace dw::cli {
namespace {

// Label values escaped as the exposition format requires.
std::string label(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

void counter(std::string& out, const char* name, const char* help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += " counter\n";
}

void sample(std::string& out, const std::string& name, uint64_t v) {
  out += name + ' ' + std::to_string(v) + '\n';
}

}  // namespace

void Metrics::add(const DropEvent& ev) {
  Key k{ev.reason, std::string(function_of(ev.location)), ev.ifname, ev.netns};
  std::lock_guard<std::mutex> l(mu_);
  auto it = drops_.find(k);
  if (it != drops_.end()) {
    it->second++;
  } else if (drops_.size() < max_series_) {
    drops_.emplace(std::move(k), 1);
  } else {
    overflow_++;
  }
}

void Metrics::set_probe(const ProbeCounters& c, uint64_t noise_stack) {
  std::lock_guard<std::mutex> l(mu_);
  probe_ = c;
  noise_stack_ = noise_stack;
}

std::string Metrics::render() const {
  std::lock_guard<std::mutex> l(mu_);
  std::string out;
  counter(out, "dropwatch_drops_total",
          "Drops reported, by drop reason, function that dropped, device and network namespace.");
  for (const auto& [k, n] : drops_) {
    const auto& [reason, fn, dev, netns] = k;
    sample(out,
           "dropwatch_drops_total{reason=\"" + label(reason) + "\",location=\"" + label(fn) +
               "\",device=\"" + label(dev) + "\",netns=\"" + std::to_string(netns) + "\"}",
           n);
  }
  if (overflow_)
    sample(out,
           "dropwatch_drops_total{reason=\"other\",location=\"other\",device=\"other\","
           "netns=\"other\"}",
           overflow_);
  counter(out, "dropwatch_probe_drops_total", "Drops the probe saw, before any gate.");
  sample(out, "dropwatch_probe_drops_total", probe_.seen);
  counter(out, "dropwatch_drops_gated_total", "Drops not reported because a gate said no.");
  const std::pair<const char*, uint64_t> gates[] = {
      {"reason", probe_.reason_rejected},   {"netns", probe_.netns_rejected},
      {"device", probe_.device_rejected},   {"filter", probe_.filtered},
      {"no_header", probe_.no_header_filtered}};
  for (const auto& [g, n] : gates)
    sample(out, std::string("dropwatch_drops_gated_total{gate=\"") + g + "\"}", n);
  counter(out, "dropwatch_drops_suppressed_total",
          "Drops suppressed as noise (in the kernel at a pinned location, or by a stack frame).");
  sample(out, "dropwatch_drops_suppressed_total{where=\"kernel\"}", probe_.noise);
  sample(out, "dropwatch_drops_suppressed_total{where=\"stack\"}", noise_stack_);
  counter(out, "dropwatch_drops_rate_limited_total",
          "Drops not reported because of --max-events-per-second.");
  sample(out, "dropwatch_drops_rate_limited_total", probe_.rate_limited);
  counter(out, "dropwatch_events_lost_total", "Events lost to a full ring buffer.");
  sample(out, "dropwatch_events_lost_total", probe_.lost);
  out += "# HELP dropwatch_build_info dropwatch's version.\n# TYPE dropwatch_build_info gauge\n";
  sample(out, "dropwatch_build_info{version=\"" DW_VERSION "\"}", 1);
  out += "# HELP dropwatch_metrics_series Label sets of dropwatch_drops_total, at most the limit.\n"
         "# TYPE dropwatch_metrics_series gauge\n";
  sample(out, "dropwatch_metrics_series", drops_.size());
  return out;
}

Result<std::unique_ptr<MetricsServer>> MetricsServer::start(const std::string& spec,
                                                            const Metrics& metrics) {
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
  int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || listen(fd, 16) != 0) {
    int err = errno;
    if (fd >= 0) close(fd);
    return fail("--metrics: cannot listen on " + spec + ": " + std::strerror(err), err);
  }
  std::unique_ptr<MetricsServer> s(new MetricsServer(fd, metrics));
  s->thread_ = std::thread([p = s.get()] { p->serve(); });
  return s;
}

MetricsServer::~MetricsServer() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  close(fd_);
}

void MetricsServer::serve() {
  while (!stop_) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, 100) != 1) continue;
    int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    timeval tv{2, 0};
    setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    std::string req;
    char buf[2048];
    while (req.find("\r\n\r\n") == std::string::npos && req.size() < 16384) {
      ssize_t n = read(c, buf, sizeof(buf));
      if (n <= 0) break;
      req.append(buf, size_t(n));
    }
    std::string status = "200 OK", body;
    if (req.starts_with("GET /metrics ") || req.starts_with("GET /metrics?")) {
      body = metrics_.render();
      scrapes_++;
    } else if (req.starts_with("GET / ")) {
      body = "dropwatch: metrics at /metrics\n";
    } else {
      status = "404 Not Found";
      body = "not found\n";
    }
    std::string resp = "HTTP/1.1 " + status +
                       "\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
                       "Content-Length: " + std::to_string(body.size()) +
                       "\r\nConnection: close\r\n\r\n" + body;
    size_t off = 0;
    while (off < resp.size()) {
      ssize_t n = send(c, resp.data() + off, resp.size() - off, MSG_NOSIGNAL);
      if (n <= 0) break;
      off += size_t(n);
    }
    close(c);
  }
}

}  // namespace dw::cli
