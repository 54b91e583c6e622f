// Test hosts in network namespaces the test creates and removes: two
// namespaces joined by a veth pair, addressed over IPv4 and IPv6.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace dw::test {

// Runs a shell command; returns its exit status.
int sh(const std::string& cmd);

// One namespace with only its loopback up: a quiet place to make drops.
class Netns {
 public:
  explicit Netns(const std::string& tag);  // "<tag><pid>"
  ~Netns();
  Netns(const Netns&) = delete;
  Netns& operator=(const Netns&) = delete;
  bool ok() const { return ok_; }
  const std::string& name() const { return name_; }
  uint32_t inode() const;

 private:
  std::string name_;
  bool ok_ = false;
};

class NetnsPair {
 public:
  // Namespaces "<tag>a<pid>" and "<tag>b<pid>"; devices dwa0 (in a) and
  // dwb0 (in b); 10.0.42.1/24 + fd00:42::1/64 in a, .2 and ::2 in b.
  explicit NetnsPair(const std::string& tag);
  ~NetnsPair();  // removes both namespaces, also after a failed test
  NetnsPair(const NetnsPair&) = delete;
  NetnsPair& operator=(const NetnsPair&) = delete;

  bool ok() const { return ok_; }
  const std::string& a() const { return a_; }
  const std::string& b() const { return b_; }
  uint32_t inode_a() const;
  uint32_t inode_b() const;
  // Runs `cmd` inside namespace b (ip netns exec).
  int exec_b(const std::string& cmd) const;

  static constexpr const char* kAddrA = "10.0.42.1";
  static constexpr const char* kAddrB = "10.0.42.2";
  static constexpr const char* kAddr6A = "fd00:42::1";
  static constexpr const char* kAddr6B = "fd00:42::2";

 private:
  std::string a_, b_;
  bool ok_ = false;
};

// In namespace `name`, drops what nft `match` selects ("udp dport 7777") at
// `hook` ("input" or "output"): NETFILTER_DROP. Returns 0 when set up.
int nft_drop(const std::string& name, const std::string& hook, const std::string& match);

// Runs fn in a child process inside namespace `name` whose comm is `comm`;
// returns the child's exit status.
int run_in_netns(const std::string& name, const std::string& comm, const std::function<int()>& fn);

// Sends a TCP SYN to a closed addr:port and waits for the RST; returns 0
// once it is refused.
int send_tcp_syn(const std::string& addr, uint16_t port);
// Sends one TCP SYN that nothing will answer (a rule drops it): a
// non-blocking connect, closed at once, so it is not sent again.
int send_tcp_syn_unanswered(const std::string& addr, uint16_t port);
// Sends one UDP datagram to addr:port; returns 0 if sent.
int send_udp(const std::string& addr, uint16_t port, const std::string& payload = "dropwatch");

// Sends the same datagram twice from one socket (one source port).
int send_udp_twice(const std::string& addr, uint16_t port);

// Sends one ICMP echo request to an IPv4 address (raw socket); 0 if sent.
int send_icmp_echo(const std::string& addr);

// Sends raw bytes as one frame out of device `ifname` (AF_PACKET); 0 if sent.
int send_frame(const std::string& ifname, const std::vector<uint8_t>& frame);

uint32_t netns_inode(const std::string& path);

}  // namespace dw::test
