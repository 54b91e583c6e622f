// A drop storm for tests and benchmarks: UDP datagrams to a closed port as
// fast as one core sends them (sendmmsg, 64 at a time), for a while.
//
//   dw_storm ADDR PORT SECONDS [--comm NAME] [--rate PPS]
//
// --rate paces the storm at PPS datagrams a second (in batches); the
// printed count then says whether the machine kept that pace.
//
// Run it inside a namespace of the test's own (ip netns exec NS dw_storm
// ...): every datagram is a NO_SOCKET drop there. Prints "sent N in S s".
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: dw_storm ADDR PORT SECONDS [--comm NAME] [--rate PPS]\n");
    return 2;
  }
  double rate = 0;
  for (int i = 4; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--comm") == 0) prctl(PR_SET_NAME, argv[i + 1]);
    if (std::strcmp(argv[i], "--rate") == 0) rate = std::atof(argv[i + 1]);
  }
  sockaddr_storage ss{};
  socklen_t len;
  int family;
  if (std::strchr(argv[1], ':')) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    family = a->sin6_family = AF_INET6;
    a->sin6_port = htons(uint16_t(std::atoi(argv[2])));
    inet_pton(AF_INET6, argv[1], &a->sin6_addr);
    len = sizeof(*a);
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    family = a->sin_family = AF_INET;
    a->sin_port = htons(uint16_t(std::atoi(argv[2])));
    inet_pton(AF_INET, argv[1], &a->sin_addr);
    len = sizeof(*a);
  }
  int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    std::perror("dw_storm");
    return 1;
  }
  char payload[32] = "dropwatch-storm";
  constexpr int kBatch = 64;
  mmsghdr msgs[kBatch];
  iovec iov{payload, sizeof(payload)};
  std::memset(msgs, 0, sizeof(msgs));
  for (auto& m : msgs) {
    m.msg_hdr.msg_iov = &iov;
    m.msg_hdr.msg_iovlen = 1;
  }
  double seconds = std::atof(argv[3]);
  auto t0 = std::chrono::steady_clock::now();
  auto end = t0 + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                      std::chrono::duration<double>(seconds));
  unsigned long long sent = 0;
  for (auto now = t0; now < end; now = std::chrono::steady_clock::now()) {
    if (rate > 0 && sent >= rate * std::chrono::duration<double>(now - t0).count()) {
      std::this_thread::sleep_for(std::chrono::microseconds(50));
      continue;
    }
    int n = sendmmsg(fd, msgs, kBatch, 0);
    if (n > 0) sent += unsigned(n);
  }
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("sent %llu in %.2f s\n", sent, s);
  return 0;
}
