#include "tests/support/http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace dw::test {

// GET http://127.0.0.1:port/path; the body, or "" on failure.
std::string http_get(uint16_t port, const std::string& path) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    close(fd);
    return "";
  }
  std::string req = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  std::string resp;
  char buf[8192];
  for (ssize_t n; (n = read(fd, buf, sizeof(buf))) > 0;) resp.append(buf, size_t(n));
  close(fd);
  size_t body = resp.find("\r\n\r\n");
  if (body == std::string::npos || !resp.starts_with("HTTP/1.1 200")) return "";
  std::string b = resp.substr(body + 4);
  // Prometheus answers chunked; its query results fit in one chunk here.
  if (resp.find("Transfer-Encoding: chunked") != std::string::npos) {
    size_t nl = b.find("\r\n");
    size_t len = std::stoul(b.substr(0, nl), nullptr, 16);
    b = b.substr(nl + 2, len);
  }
  return b;
}

}  // namespace dw::test
