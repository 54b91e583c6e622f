#include "tests/support/netns.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netpacket/packet.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace dw::test {

int sh(const std::string& cmd) {
  int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

Netns::Netns(const std::string& tag) : name_(tag + std::to_string(getpid())) {
  ok_ = sh("ip netns add " + name_ + " && ip -n " + name_ + " link set lo up") == 0;
}

Netns::~Netns() { sh("ip netns del " + name_ + " 2>/dev/null"); }

uint32_t Netns::inode() const { return netns_inode("/run/netns/" + name_); }

NetnsPair::NetnsPair(const std::string& tag) {
  std::string id = std::to_string(getpid());
  a_ = tag + "a" + id;
  b_ = tag + "b" + id;
  std::string s =
      "set -e; ip netns add " + a_ + "; ip netns add " + b_ + "; ip link add dwa0 netns " + a_ +
      " type veth peer name dwb0 netns " + b_ + "; ip -n " + a_ +
      " addr add 10.0.42.1/24 dev dwa0" + "; ip -n " + b_ + " addr add 10.0.42.2/24 dev dwb0" +
      "; ip -n " + a_ + " addr add fd00:42::1/64 dev dwa0 nodad" + "; ip -n " + b_ +
      " addr add fd00:42::2/64 dev dwb0 nodad" + "; ip -n " + a_ +
      " link set dwa0 address 02:00:00:00:42:01" + "; ip -n " + b_ +
      " link set dwb0 address 02:00:00:00:42:02" +
      // Permanent neighbours: no ARP/NDP, so the first packet leaves from
      // the sender's own context (and comm names it), not from a softirq.
      "; ip -n " + a_ + " neigh add 10.0.42.2 lladdr 02:00:00:00:42:02 dev dwa0 nud permanent" +
      "; ip -n " + a_ + " neigh add fd00:42::2 lladdr 02:00:00:00:42:02 dev dwa0 nud permanent" +
      "; ip -n " + b_ + " neigh add 10.0.42.1 lladdr 02:00:00:00:42:01 dev dwb0 nud permanent" +
      "; ip -n " + b_ + " neigh add fd00:42::1 lladdr 02:00:00:00:42:01 dev dwb0 nud permanent" +
      "; ip -n " + a_ + " link set lo up; ip -n " + b_ + " link set lo up" + "; ip -n " + a_ +
      " link set dwa0 up; ip -n " + b_ + " link set dwb0 up";
  ok_ = sh(s) == 0;
}

NetnsPair::~NetnsPair() {
  sh("ip netns del " + a_ + " 2>/dev/null; ip netns del " + b_ + " 2>/dev/null");
}

uint32_t netns_inode(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

uint32_t NetnsPair::inode_a() const { return netns_inode("/run/netns/" + a_); }
uint32_t NetnsPair::inode_b() const { return netns_inode("/run/netns/" + b_); }

int NetnsPair::exec_b(const std::string& cmd) const {
  return sh("ip netns exec " + b_ + " " + cmd);
}

int nft_drop(const std::string& name, const std::string& hook, const std::string& match) {
  std::string nft = "ip netns exec " + name + " nft ";
  std::string chain = "dw_" + hook;
  return sh(nft + "add table inet dwtest") ||
         sh(nft + "add chain inet dwtest " + chain + " '{ type filter hook " + hook +
            " priority 0; policy accept; }'") ||
         sh(nft + "add rule inet dwtest " + chain + " " + match + " drop");
}

int run_in_netns(const std::string& name, const std::string& comm, const std::function<int()>& fn) {
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    int fd = open(("/run/netns/" + name).c_str(), O_RDONLY);
    if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) _exit(100);
    prctl(PR_SET_NAME, comm.c_str());
    _exit(fn());
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

namespace {

bool to_sockaddr(const std::string& addr, uint16_t port, sockaddr_storage& ss, socklen_t& len) {
  std::memset(&ss, 0, sizeof(ss));
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, addr.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    len = sizeof(*v4);
    return true;
  }
  if (inet_pton(AF_INET6, addr.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    len = sizeof(*v6);
    return true;
  }
  return false;
}

}  // namespace

int send_tcp_syn(const std::string& addr, uint16_t port) {
  sockaddr_storage ss;
  socklen_t len;
  if (!to_sockaddr(addr, port, ss, len)) return 1;
  int fd = socket(ss.ss_family, SOCK_STREAM, 0);
  if (fd < 0) return 2;
  // Blocking connect: returns once the peer's RST arrives (ECONNREFUSED),
  // so the SYN has been dropped by then. No retransmits to count twice.
  int rc = connect(fd, reinterpret_cast<sockaddr*>(&ss), len);
  int err = errno;
  close(fd);
  return rc != 0 && err == ECONNREFUSED ? 0 : 3;
}

int send_tcp_syn_unanswered(const std::string& addr, uint16_t port) {
  sockaddr_storage ss;
  socklen_t len;
  if (!to_sockaddr(addr, port, ss, len)) return 1;
  int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (fd < 0) return 2;
  int rc = connect(fd, reinterpret_cast<sockaddr*>(&ss), len);
  int err = errno;
  close(fd);  // from SYN_SENT: no RST, no retransmit
  return rc != 0 && err == EINPROGRESS ? 0 : 3;
}

int send_udp(const std::string& addr, uint16_t port, const std::string& payload) {
  sockaddr_storage ss;
  socklen_t len;
  if (!to_sockaddr(addr, port, ss, len)) return 1;
  int fd = socket(ss.ss_family, SOCK_DGRAM, 0);
  if (fd < 0) return 2;
  ssize_t n = sendto(fd, payload.data(), payload.size(), 0, reinterpret_cast<sockaddr*>(&ss), len);
  close(fd);
  return n == ssize_t(payload.size()) ? 0 : 3;
}

int send_udp_twice(const std::string& addr, uint16_t port) {
  sockaddr_storage ss;
  socklen_t len;
  if (!to_sockaddr(addr, port, ss, len)) return 1;
  int fd = socket(ss.ss_family, SOCK_DGRAM, 0);
  if (fd < 0) return 2;
  int sent = 0;
  for (int i = 0; i < 2; i++)
    sent += sendto(fd, "dropwatch", 9, 0, reinterpret_cast<sockaddr*>(&ss), len) == 9;
  close(fd);
  return sent == 2 ? 0 : 3;
}

int send_icmp_echo(const std::string& addr) {
  sockaddr_in to{};
  to.sin_family = AF_INET;
  if (inet_pton(AF_INET, addr.c_str(), &to.sin_addr) != 1) return 1;
  int fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
  if (fd < 0) return 2;
  // type 8 code 0, checksum over the 8-byte header with id 0x4444, seq 1
  uint8_t pkt[8] = {8, 0, 0, 0, 0x44, 0x44, 0, 1};
  uint32_t sum = 0;
  for (int i = 0; i < 8; i += 2) sum += pkt[i] << 8 | pkt[i + 1];
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  uint16_t ck = ~sum;
  pkt[2] = ck >> 8;
  pkt[3] = ck & 0xff;
  ssize_t n = sendto(fd, pkt, sizeof(pkt), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to));
  close(fd);
  return n == sizeof(pkt) ? 0 : 3;
}

int send_frame(const std::string& ifname, const std::vector<uint8_t>& frame) {
  int fd = socket(AF_PACKET, SOCK_RAW, 0);
  if (fd < 0) return 1;
  sockaddr_ll to{};
  to.sll_family = AF_PACKET;
  to.sll_ifindex = if_nametoindex(ifname.c_str());
  to.sll_halen = 6;
  std::memcpy(to.sll_addr, frame.data(), 6);
  ssize_t n =
      sendto(fd, frame.data(), frame.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to));
  close(fd);
  return n == ssize_t(frame.size()) ? 0 : 2;
}

}  // namespace dw::test
