#include "compiler/names.h"

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

namespace dw::filter::names {
namespace {

struct Entry {
  const char* name;
  int value;
};

// Used only when the system files are missing (containers without netbase).
const Entry kTcpServices[] = {
    {"ftp-data", 20},      {"ftp", 21},         {"ssh", 22},          {"telnet", 23},
    {"smtp", 25},          {"domain", 53},      {"http", 80},         {"www", 80},
    {"pop3", 110},         {"sunrpc", 111},     {"nntp", 119},        {"imap", 143},
    {"imap2", 143},        {"bgp", 179},        {"ldap", 389},        {"https", 443},
    {"microsoft-ds", 445}, {"submission", 587}, {"ldaps", 636},       {"imaps", 993},
    {"pop3s", 995},        {"mysql", 3306},     {"postgresql", 5432}, {"nfs", 2049},
    {"http-alt", 8080},    {"bgp", 179},        {"kerberos", 88},     {"rsync", 873},
    {"redis", 6379}};
const Entry kUdpServices[] = {
    {"domain", 53},   {"bootps", 67},  {"bootpc", 68},     {"tftp", 69},     {"sunrpc", 111},
    {"ntp", 123},     {"snmp", 161},   {"snmp-trap", 162}, {"syslog", 514},  {"nfs", 2049},
    {"kerberos", 88}, {"isakmp", 500}, {"mdns", 5353},     {"openvpn", 1194}};
const Entry kProtocols[] = {
    {"ip", 0},        {"hopopt", 0},       {"icmp", 1},        {"igmp", 2},
    {"ggp", 3},       {"ipencap", 4},      {"st", 5},          {"tcp", 6},
    {"egp", 8},       {"igp", 9},          {"pup", 12},        {"udp", 17},
    {"hmp", 20},      {"xns-idp", 22},     {"rdp", 27},        {"iso-tp4", 29},
    {"dccp", 33},     {"xtp", 36},         {"ddp", 37},        {"idpr-cmtp", 38},
    {"ipv6", 41},     {"ipv6-route", 43},  {"ipv6-frag", 44},  {"idrp", 45},
    {"rsvp", 46},     {"gre", 47},         {"esp", 50},        {"ah", 51},
    {"skip", 57},     {"ipv6-icmp", 58},   {"ipv6-nonxt", 59}, {"ipv6-opts", 60},
    {"rspf", 73},     {"vmtp", 81},        {"eigrp", 88},      {"ospf", 89},
    {"ax.25", 93},    {"ipip", 94},        {"etherip", 97},    {"encap", 98},
    {"pim", 103},     {"ipcomp", 108},     {"vrrp", 112},      {"l2tp", 115},
    {"isis", 124},    {"sctp", 132},       {"fc", 133},        {"mobility-header", 135},
    {"udplite", 136}, {"mpls-in-ip", 137}, {"manet", 138},     {"hip", 139},
    {"shim6", 140},   {"wesp", 141},       {"rohc", 142},      {"ethernet", 143}};
// libpcap's eproto_db and llc_db.
const Entry kEtherProtos[] = {{"aarp", 0x80f3},   {"arp", 0x0806},      {"atalk", 0x809b},
                              {"decnet", 0x6003}, {"ip", 0x0800},       {"ip6", 0x86dd},
                              {"lat", 0x6004},    {"loopback", 0x9000}, {"mopdl", 0x6001},
                              {"moprc", 0x6002},  {"rarp", 0x8035},     {"sca", 0x6007}};
const Entry kLlcProtos[] = {{"iso", 0xfe}, {"stp", 0x42}, {"ipx", 0xe0}, {"netbeui", 0xf0}};

template <size_t N>
std::optional<int> find(const Entry (&table)[N], const std::string& name) {
  for (const Entry& e : table)
    if (name == e.name) return e.value;
  return std::nullopt;
}

bool have(const char* path) { return access(path, R_OK) == 0; }

// getaddrinfo(NULL, name) for one transport, as libpcap asks it: accepts
// numbers and /etc/services names alike.
int lookup_port(const std::string& name, int socktype, int protocol) {
  addrinfo hints{};
  hints.ai_family = PF_UNSPEC;
  hints.ai_socktype = socktype;
  hints.ai_protocol = protocol;
  addrinfo* res = nullptr;
  if (getaddrinfo(nullptr, name.c_str(), &hints, &res) != 0) return -1;
  int port = -1;
  for (addrinfo* ai = res; ai; ai = ai->ai_next) {
    if (ai->ai_addr && ai->ai_addr->sa_family == AF_INET) {
      port = ntohs(reinterpret_cast<sockaddr_in*>(ai->ai_addr)->sin_port);
      break;
    }
    if (ai->ai_addr && ai->ai_addr->sa_family == AF_INET6) {
      port = ntohs(reinterpret_cast<sockaddr_in6*>(ai->ai_addr)->sin6_port);
      break;
    }
  }
  freeaddrinfo(res);
  return port;
}

}  // namespace

std::optional<Port> service(const std::string& name) {
  int tcp, udp;
  if (have("/etc/services")) {
    tcp = lookup_port(name, SOCK_STREAM, IPPROTO_TCP);
    udp = lookup_port(name, SOCK_DGRAM, IPPROTO_UDP);
  } else {
    tcp = find(kTcpServices, name).value_or(-1);
    udp = find(kUdpServices, name).value_or(-1);
  }
  if (tcp >= 0) return Port{tcp, udp == tcp ? kProtoUndef : IPPROTO_TCP};
  if (udp >= 0) return Port{udp, IPPROTO_UDP};
  return std::nullopt;
}

std::optional<std::pair<Port, Port>> service_range(const std::string& name) {
  int p1, p2;
  if (std::sscanf(name.c_str(), "%d-%d", &p1, &p2) == 2)
    return std::make_pair(Port{p1, kProtoUndef}, Port{p2, kProtoUndef});
  size_t dash = name.find('-');
  if (dash == std::string::npos) return std::nullopt;
  auto a = service(name.substr(0, dash));
  if (!a) return std::nullopt;
  auto b = service(name.substr(dash + 1));
  if (!b) return std::nullopt;
  if (a->proto != b->proto) a->proto = b->proto = kProtoUndef;
  // libpcap keeps the second lookup's protocol unless they differ.
  return std::make_pair(Port{a->port, b->proto}, Port{b->port, b->proto});
}

std::optional<int> ip_protocol(const std::string& name) {
  if (!have("/etc/protocols")) return find(kProtocols, name);
  protoent buf, *p = nullptr;
  char data[1024];
  if (getprotobyname_r(name.c_str(), &buf, data, sizeof(data), &p) != 0 || !p) return std::nullopt;
  return p->p_proto;
}

std::optional<int> ether_protocol(const std::string& name) { return find(kEtherProtos, name); }
std::optional<int> llc_protocol(const std::string& name) { return find(kLlcProtos, name); }

int atoin(const std::string& str, uint32_t& addr) {
  const char* s = str.c_str();
  addr = 0;
  int len = 0;
  for (;;) {
    unsigned n = 0;
    while (*s && *s != '.') {
      if (n > 25) return -1;
      n = n * 10 + (*s++ - '0');
    }
    if (n > 255) return -1;
    addr <<= 8;
    addr |= n & 0xff;
    len += 8;
    if (*s == '\0') return len;
    ++s;
  }
}

}  // namespace dw::filter::names
