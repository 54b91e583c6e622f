#include "probe/nft_trace.h"

#include <fcntl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <nftables/libnftables.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

namespace dw::probe {
namespace {

constexpr const char* kTablePrefix = "dropwatch_trace_";
constexpr size_t kMaxWaiting = 4096;           // traces of drops no event claimed yet
constexpr uint64_t kExpireNs = 5'000'000'000;  // a claim comes within ms; 5 s is generous

uint64_t monotonic_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// Runs fn in the namespace at `path` ("" : here). Namespaces belong to
// threads: a thread of its own enters it and ends, leaving ours as it was.
template <typename T>
Result<T> in_netns(const std::string& path, const std::function<Result<T>()>& fn) {
  if (path.empty()) return fn();
  Result<T> out = fail("not run");
  std::thread t([&] {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) {
      int err = errno;
      out = fail("cannot enter the network namespace " + path + ": " + std::strerror(err), err);
      if (fd >= 0) close(fd);
      return;
    }
    close(fd);
    out = fn();
  });
  t.join();
  return out;
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

Result<std::string> nft_here(const std::string& commands, bool handles) {
  std::unique_ptr<nft_ctx, void (*)(nft_ctx*)> ctx(nft_ctx_new(NFT_CTX_DEFAULT), nft_ctx_free);
  if (!ctx) return fail("nftables is unavailable: cannot create a libnftables context");
  nft_ctx_buffer_output(ctx.get());
  nft_ctx_buffer_error(ctx.get());
  if (handles) nft_ctx_output_set_flags(ctx.get(), NFT_CTX_OUTPUT_HANDLE);
  if (nft_run_cmd_from_buffer(ctx.get(), commands.c_str()) != 0) {
    std::string err = trimmed(nft_ctx_get_error_buffer(ctx.get()));
    return fail("nftables: " + (err.empty() ? std::string("the command failed") : err));
  }
  return std::string(nft_ctx_get_output_buffer(ctx.get()));
}

std::string family_name(uint8_t f) {
  switch (f) {
    case NFPROTO_INET: return "inet";
    case NFPROTO_IPV4: return "ip";
    case NFPROTO_IPV6: return "ip6";
    case NFPROTO_ARP: return "arp";
    case NFPROTO_BRIDGE: return "bridge";
    case NFPROTO_NETDEV: return "netdev";
    default: return std::to_string(f);
  }
}

uint32_t be32(const uint8_t* p) { return uint32_t(p[0]) << 24 | p[1] << 16 | p[2] << 8 | p[3]; }
uint64_t be64(const uint8_t* p) { return uint64_t(be32(p)) << 32 | be32(p + 4); }

// Netlink attributes: each a 4-byte header, its payload padded to 4.
template <typename Fn>
void each_attr(std::span<const uint8_t> b, Fn fn) {
  while (b.size() >= sizeof(nlattr)) {
    nlattr a;
    std::memcpy(&a, b.data(), sizeof(a));
    if (a.nla_len < sizeof(a) || a.nla_len > b.size()) return;
    fn(a.nla_type & NLA_TYPE_MASK, b.subspan(sizeof(a), a.nla_len - sizeof(a)));
    size_t step = NLA_ALIGN(a.nla_len);
    if (step >= b.size()) return;
    b = b.subspan(step);
  }
}

// Tables named after runs whose process is gone.
std::vector<std::string> stale_tables(const std::string& listing) {
  std::vector<std::string> out;
  std::istringstream in(listing);
  std::string word, family, name;
  while (in >> word >> family >> name) {
    if (word != "table" || family != "inet" || !name.starts_with(kTablePrefix)) continue;
    std::string digits = name.substr(std::strlen(kTablePrefix));
    if (digits.empty() || !std::all_of(digits.begin(), digits.end(), ::isdigit)) continue;
    int pid = std::atoi(digits.c_str());
    if (pid != getpid() && kill(pid, 0) != 0 && errno == ESRCH) out.push_back(name);
  }
  return out;
}

std::string legacy_iptables() {
  std::string names;
  for (const char* f :
       {"/proc/thread-self/net/ip_tables_names", "/proc/thread-self/net/ip6_tables_names"}) {
    std::ifstream in(f);
    std::string n;
    while (std::getline(in, n))
      if (!n.empty()) names += (names.empty() ? "" : ", ") + n;
  }
  return names;
}

}  // namespace

std::string NftTracer::table_name(int pid) { return kTablePrefix + std::to_string(pid); }

Result<std::string> nft_run(const std::string& netns_path, const std::string& commands,
                            bool handles) {
  return in_netns<std::string>(netns_path, [&] { return nft_here(commands, handles); });
}

Result<std::unique_ptr<NftTracer>> NftTracer::start(const std::string& netns_path,
                                                    std::vector<std::string>* notes) {
  std::unique_ptr<NftTracer> t(new NftTracer);
  t->netns_ = netns_path;
  t->table_ = table_name(getpid());
  std::string where = netns_path.empty() ? "" : " in " + netns_path;
  auto set_up = [&]() -> Result<int> {
    // The socket first, so that no trace of the table's first packet is missed.
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_NETFILTER);
    if (fd < 0) return fail_errno("nftables is unavailable: no netfilter netlink socket");
    sockaddr_nl sa{};
    sa.nl_family = AF_NETLINK;
    int group = NFNLGRP_NFTRACE, size = 8 << 20;
    if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0 ||
        setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) != 0) {
      int err = errno;
      close(fd);
      return fail(std::string("nftables is unavailable: cannot join the trace group: ") +
                      std::strerror(err) +
                      (err == EPERM ? " (--nft-trace needs CAP_NET_ADMIN)" : ""),
                  err);
    }
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) != 0)
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
    auto tables = nft_here("list tables", false);
    if (!tables) {
      close(fd);
      return std::unexpected(tables.error());
    }
    for (const std::string& name : stale_tables(*tables)) {
      if (!nft_here("delete table inet " + name, false)) continue;
      std::string note = "removed nftables table inet " + name;
      note += where;
      note += ", left by a run that did not end cleanly";
      notes->push_back(std::move(note));
    }
    // Before every other chain of these hooks (conntrack is at -200, raw
    // at -300): every packet is marked, so every rule it meets is traced.
    const std::string& name = t->table_;
    std::string add = "add table inet " + name + "\n";
    add +=
        "add chain inet " + name + " pre { type filter hook prerouting priority -2147483647; }\n";
    add += "add chain inet " + name + " out { type filter hook output priority -2147483647; }\n";
    add += "add rule inet " + name + " pre meta nftrace set 1\n";
    add += "add rule inet " + name + " out meta nftrace set 1\n";
    if (auto ok = nft_here(add, false); !ok) {
      close(fd);
      return std::unexpected(ok.error());
    }
    if (std::string legacy = legacy_iptables(); !legacy.empty())
      notes->push_back("legacy iptables tables" + where + " (" + legacy +
                       "): drops by their rules cannot be attributed to a rule");
    return fd;
  };
  auto fd = in_netns<int>(netns_path, set_up);
  if (!fd) return std::unexpected(fd.error());
  t->fd_ = *fd;
  t->removed_ = false;
  return t;
}

NftTracer::~NftTracer() {
  (void)remove();
  if (fd_ >= 0) close(fd_);
}

Status NftTracer::remove() {
  if (removed_) return {};
  removed_ = true;
  auto ok = nft_run(netns_, "delete table inet " + table_);
  if (!ok) return std::unexpected(ok.error());
  return {};
}

void NftTracer::drain() {
  std::vector<uint8_t> buf(1 << 16);
  for (;;) {
    ssize_t n = recv(fd_, buf.data(), buf.size(), MSG_DONTWAIT);
    if (n < 0) {
      if (errno == ENOBUFS) {
        lost_++;  // the socket overflowed: some traces are gone
        continue;
      }
      break;  // EAGAIN: all read
    }
    std::span<const uint8_t> b(buf.data(), size_t(n));
    while (b.size() >= sizeof(nlmsghdr)) {
      nlmsghdr h;
      std::memcpy(&h, b.data(), sizeof(h));
      if (h.nlmsg_len < sizeof(h) || h.nlmsg_len > b.size()) break;
      if (h.nlmsg_type == ((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_TRACE))
        parse(b.subspan(sizeof(h), h.nlmsg_len - sizeof(h)));
      size_t step = NLMSG_ALIGN(h.nlmsg_len);
      if (step >= b.size()) break;
      b = b.subspan(step);
    }
  }
  uint64_t now = monotonic_ns();
  while (!waiting_.empty() && now - waiting_.front().read_ns > kExpireNs) waiting_.pop_front();
}

void NftTracer::parse(std::span<const uint8_t> msg) {
  if (msg.size() < sizeof(nfgenmsg)) return;
  Trace t;
  t.rule.family = family_name(msg[0]);
  uint32_t type = 0, code = ~0u, policy = ~0u, id = 0;
  each_attr(msg.subspan(sizeof(nfgenmsg)), [&](uint16_t a, std::span<const uint8_t> v) {
    auto str = [&] { return std::string(v.begin(), std::find(v.begin(), v.end(), 0)); };
    switch (a) {
      case NFTA_TRACE_TABLE: t.rule.table = str(); break;
      case NFTA_TRACE_CHAIN: t.rule.chain = str(); break;
      case NFTA_TRACE_RULE_HANDLE:
        if (v.size() >= 8) t.rule.handle = be64(v.data());
        break;
      case NFTA_TRACE_TYPE:
        if (v.size() >= 4) type = be32(v.data());
        break;
      case NFTA_TRACE_POLICY:
        if (v.size() >= 4) policy = be32(v.data());
        break;
      case NFTA_TRACE_VERDICT:
        each_attr(v, [&](uint16_t va, std::span<const uint8_t> vv) {
          if (va == NFTA_VERDICT_CODE && vv.size() >= 4) code = be32(vv.data());
        });
        break;
      case NFTA_TRACE_ID:
        if (v.size() >= 4) id = be32(v.data());
        break;
      case NFTA_TRACE_NETWORK_HEADER: t.network.assign(v.begin(), v.end()); break;
      case NFTA_TRACE_TRANSPORT_HEADER: t.transport.assign(v.begin(), v.end()); break;
      default: break;  // interfaces, mark, link-layer header: not needed to match
    }
  });
  // NF_DROP is 0; the bits above the verdict's low byte may carry an errno.
  bool rule_drop = type == NFT_TRACETYPE_RULE && int32_t(code) >= 0 && (code & 0xff) == NF_DROP;
  bool policy_drop = type == NFT_TRACETYPE_POLICY && policy == NF_DROP;
  // A chain's first message carries the packet's headers, the later ones
  // its id only: the headers are kept by id for the verdict that follows.
  if (!t.network.empty()) {
    if (headers_.size() >= kMaxWaiting) headers_.erase(headers_.begin());
    headers_[id] = {t.network, t.transport};
  } else if (auto h = headers_.find(id); h != headers_.end()) {
    std::tie(t.network, t.transport) = h->second;
  }
  if ((!rule_drop && !policy_drop) || t.rule.table == table_ || t.network.empty()) return;
  headers_.erase(id);
  if (policy_drop) {
    t.rule.handle = 0;
    t.rule.rule = "policy drop";
  }
  t.read_ns = monotonic_ns();
  if (waiting_.size() >= kMaxWaiting) waiting_.pop_front();
  waiting_.push_back(std::move(t));
}

std::string NftTracer::rule_text(const std::string& family, const std::string& table,
                                 const std::string& chain, uint64_t handle) {
  auto key = std::make_tuple(family, table, chain);
  auto it = rules_.find(key);
  if (it == rules_.end() || !it->second.count(handle)) {
    // Listed when a drop first needs it, again when its rules changed.
    std::map<uint64_t, std::string>& rules = rules_[key];
    rules.clear();
    auto listing = nft_run(netns_, "list chain " + family + " " + table + " " + chain, true);
    std::istringstream in(listing ? *listing : "");
    std::string line;
    while (std::getline(in, line)) {
      size_t mark = line.rfind(" # handle ");
      if (mark == std::string::npos) continue;
      size_t start = line.find_first_not_of(" \t");
      std::string text = line.substr(start, mark - start);
      if (text.starts_with("chain ") || text.starts_with("table ") || text.starts_with("type "))
        continue;
      rules[std::strtoull(line.c_str() + mark + 10, nullptr, 10)] = text;
    }
    it = rules_.find(key);
  }
  auto r = it->second.find(handle);
  return r == it->second.end() ? "" : r->second;
}

std::optional<NftRule> NftTracer::claim(std::span<const uint8_t> net) {
  auto matches = [&](const Trace& t) {
    size_t n = std::min(t.network.size(), net.size());
    if (n < 20 || !std::equal(t.network.begin(), t.network.begin() + n, net.begin())) return false;
    // The transport header follows the IP header; with IPv6 extension
    // headers in between, the network header alone decides.
    size_t thoff = 0;
    if ((net[0] >> 4) == 4)
      thoff = size_t(net[0] & 0xf) * 4;
    else if (net.size() >= 40 && (net[6] == 6 || net[6] == 17 || net[6] == 58 || net[6] == 132))
      thoff = 40;
    if (!thoff || t.transport.empty() || net.size() <= thoff) return true;
    size_t m = std::min(t.transport.size(), net.size() - thoff);
    return std::equal(t.transport.begin(), t.transport.begin() + m, net.begin() + thoff);
  };
  auto first = std::find_if(waiting_.begin(), waiting_.end(), matches);
  if (first == waiting_.end()) return std::nullopt;
  NftRule r = first->rule;
  r.ambiguous = std::any_of(std::next(first), waiting_.end(), matches);
  waiting_.erase(first);
  if (r.handle) r.rule = rule_text(r.family, r.table, r.chain, r.handle);
  return r;
}

}  // namespace dw::probe
