#include "compiler/lexer.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <string_view>

namespace dw::filter {
namespace {

struct Keyword {
  const char* text;
  Tok kind;
  Proto proto = Proto::Default;
};

// Keywords and named constants, as scanner.l lists them.
const Keyword kKeywords[] = {
    {"dst", Tok::Dst},
    {"src", Tok::Src},
    {"link", Tok::Pname, Proto::Link},
    {"ether", Tok::Pname, Proto::Link},
    {"ppp", Tok::Pname, Proto::Link},
    {"slip", Tok::Pname, Proto::Link},
    {"fddi", Tok::Pname, Proto::Link},
    {"tr", Tok::Pname, Proto::Link},
    {"wlan", Tok::Pname, Proto::Link},
    {"arp", Tok::Pname, Proto::Arp},
    {"rarp", Tok::Pname, Proto::Rarp},
    {"ip", Tok::Pname, Proto::Ip},
    {"sctp", Tok::Pname, Proto::Sctp},
    {"tcp", Tok::Pname, Proto::Tcp},
    {"udp", Tok::Pname, Proto::Udp},
    {"icmp", Tok::Pname, Proto::Icmp},
    {"igmp", Tok::Pname, Proto::Igmp},
    {"igrp", Tok::Pname, Proto::Igrp},
    {"pim", Tok::Pname, Proto::Pim},
    {"vrrp", Tok::Pname, Proto::Vrrp},
    {"carp", Tok::Pname, Proto::Carp},
    {"radio", Tok::Pname, Proto::Radio},
    {"ip6", Tok::Pname, Proto::Ip6},
    {"icmp6", Tok::Pname, Proto::Icmp6},
    {"ah", Tok::Pname, Proto::Ah},
    {"esp", Tok::Pname, Proto::Esp},
    {"atalk", Tok::Pname, Proto::Atalk},
    {"aarp", Tok::Pname, Proto::Aarp},
    {"decnet", Tok::Pname, Proto::Decnet},
    {"lat", Tok::Pname, Proto::Lat},
    {"sca", Tok::Pname, Proto::Sca},
    {"moprc", Tok::Pname, Proto::Moprc},
    {"mopdl", Tok::Pname, Proto::Mopdl},
    {"iso", Tok::Pname, Proto::Iso},
    {"esis", Tok::Pname, Proto::Esis},
    {"es-is", Tok::Pname, Proto::Esis},
    {"isis", Tok::Pname, Proto::Isis},
    {"is-is", Tok::Pname, Proto::Isis},
    {"l1", Tok::Pname, Proto::IsisL1},
    {"l2", Tok::Pname, Proto::IsisL2},
    {"iih", Tok::Pname, Proto::IsisIih},
    {"lsp", Tok::Pname, Proto::IsisLsp},
    {"snp", Tok::Pname, Proto::IsisSnp},
    {"csnp", Tok::Pname, Proto::IsisCsnp},
    {"psnp", Tok::Pname, Proto::IsisPsnp},
    {"clnp", Tok::Pname, Proto::Clnp},
    {"stp", Tok::Pname, Proto::Stp},
    {"ipx", Tok::Pname, Proto::Ipx},
    {"netbeui", Tok::Pname, Proto::Netbeui},
    {"host", Tok::Host},
    {"net", Tok::Net},
    {"mask", Tok::Mask},
    {"port", Tok::Port},
    {"portrange", Tok::Portrange},
    {"proto", Tok::ProtoKw},
    {"protochain", Tok::Protochain},
    {"gateway", Tok::Gateway},
    {"type", Tok::Type},
    {"subtype", Tok::Subtype},
    {"direction", Tok::DirKw},
    {"dir", Tok::DirKw},
    {"address1", Tok::Addr1},
    {"addr1", Tok::Addr1},
    {"address2", Tok::Addr2},
    {"addr2", Tok::Addr2},
    {"address3", Tok::Addr3},
    {"addr3", Tok::Addr3},
    {"address4", Tok::Addr4},
    {"addr4", Tok::Addr4},
    {"ra", Tok::Ra},
    {"ta", Tok::Ta},
    {"less", Tok::Less},
    {"greater", Tok::Greater},
    {"byte", Tok::Byte},
    {"broadcast", Tok::Broadcast},
    {"multicast", Tok::Multicast},
    {"and", Tok::And},
    {"or", Tok::Or},
    {"not", Tok::Not},
    {"len", Tok::Len},
    {"length", Tok::Len},
    {"inbound", Tok::Inbound},
    {"outbound", Tok::Outbound},
    {"ifindex", Tok::Ifindex},
    {"vlan", Tok::Vlan},
    {"mpls", Tok::Mpls},
    {"pppoed", Tok::Pppoed},
    {"pppoes", Tok::Pppoes},
    {"geneve", Tok::Geneve},
    {"lane", Tok::AtmKw},
    {"llc", Tok::Llc},
    {"metac", Tok::AtmKw},
    {"bcc", Tok::AtmKw},
    {"oam", Tok::AtmKw},
    {"oamf4", Tok::AtmKw},
    {"oamf4ec", Tok::AtmKw},
    {"oamf4sc", Tok::AtmKw},
    {"sc", Tok::AtmKw},
    {"ilmic", Tok::AtmKw},
    {"vpi", Tok::AtmKw},
    {"vci", Tok::AtmKw},
    {"connectmsg", Tok::AtmKw},
    {"metaconnect", Tok::AtmKw},
    {"on", Tok::PfKw},
    {"ifname", Tok::PfKw},
    {"rset", Tok::PfKw},
    {"ruleset", Tok::PfKw},
    {"rnr", Tok::PfKw},
    {"rulenum", Tok::PfKw},
    {"srnr", Tok::PfKw},
    {"subrulenum", Tok::PfKw},
    {"reason", Tok::PfKw},
    {"action", Tok::PfKw},
    {"fisu", Tok::MtpKw},
    {"lssu", Tok::MtpKw},
    {"lsu", Tok::MtpKw},
    {"msu", Tok::MtpKw},
    {"hfisu", Tok::MtpKw},
    {"hlssu", Tok::MtpKw},
    {"hmsu", Tok::MtpKw},
    {"sio", Tok::MtpKw},
    {"opc", Tok::MtpKw},
    {"dpc", Tok::MtpKw},
    {"sls", Tok::MtpKw},
    {"hsio", Tok::MtpKw},
    {"hopc", Tok::MtpKw},
    {"hdpc", Tok::MtpKw},
    {"hsls", Tok::MtpKw},
};

struct NamedConstant {
  const char* text;
  uint32_t value;
};

const NamedConstant kConstants[] = {
    {"icmptype", 0},
    {"icmpcode", 1},
    {"icmp-echoreply", 0},
    {"icmp-unreach", 3},
    {"icmp-sourcequench", 4},
    {"icmp-redirect", 5},
    {"icmp-echo", 8},
    {"icmp-routeradvert", 9},
    {"icmp-routersolicit", 10},
    {"icmp-timxceed", 11},
    {"icmp-paramprob", 12},
    {"icmp-tstamp", 13},
    {"icmp-tstampreply", 14},
    {"icmp-ireq", 15},
    {"icmp-ireqreply", 16},
    {"icmp-maskreq", 17},
    {"icmp-maskreply", 18},
    {"icmp6type", 0},
    {"icmp6code", 1},
    {"icmp6-destinationunreach", 1},
    {"icmp6-packettoobig", 2},
    {"icmp6-timeexceeded", 3},
    {"icmp6-parameterproblem", 4},
    {"icmp6-echo", 128},
    {"icmp6-echoreply", 129},
    {"icmp6-multicastlistenerquery", 130},
    {"icmp6-multicastlistenerreportv1", 131},
    {"icmp6-multicastlistenerdone", 132},
    {"icmp6-routersolicit", 133},
    {"icmp6-routeradvert", 134},
    {"icmp6-neighborsolicit", 135},
    {"icmp6-neighboradvert", 136},
    {"icmp6-redirect", 137},
    {"icmp6-routerrenum", 138},
    {"icmp6-nodeinformationquery", 139},
    {"icmp6-nodeinformationresponse", 140},
    {"icmp6-ineighbordiscoverysolicit", 141},
    {"icmp6-ineighbordiscoveryadvert", 142},
    {"icmp6-multicastlistenerreportv2", 143},
    {"icmp6-homeagentdiscoveryrequest", 144},
    {"icmp6-homeagentdiscoveryreply", 145},
    {"icmp6-mobileprefixsolicit", 146},
    {"icmp6-mobileprefixadvert", 147},
    {"icmp6-certpathsolicit", 148},
    {"icmp6-certpathadvert", 149},
    {"icmp6-multicastrouteradvert", 151},
    {"icmp6-multicastroutersolicit", 152},
    {"icmp6-multicastrouterterm", 153},
    {"tcpflags", 13},
    {"tcp-fin", 0x01},
    {"tcp-syn", 0x02},
    {"tcp-rst", 0x04},
    {"tcp-push", 0x08},
    {"tcp-ack", 0x10},
    {"tcp-urg", 0x20},
    {"tcp-ece", 0x40},
    {"tcp-cwr", 0x80},
};

bool is_hex(char c) { return std::isxdigit(static_cast<unsigned char>(c)); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)); }

// Lengths of the longest prefix of s matching each pattern; 0 for none.

// N: [0-9]+ | 0[xX][0-9A-Fa-f]+
size_t match_num(std::string_view s) {
  if (s.size() >= 3 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && is_hex(s[2])) {
    size_t i = 2;
    while (i < s.size() && is_hex(s[i])) i++;
    return i;
  }
  size_t i = 0;
  while (i < s.size() && is_digit(s[i])) i++;
  return i;
}

// ID: [A-Za-z0-9]([-_.A-Za-z0-9]*[.A-Za-z0-9])?
size_t match_id(std::string_view s) {
  if (s.empty() || !is_alnum(s[0])) return 0;
  size_t best = 1;
  for (size_t i = 1; i < s.size(); i++) {
    char c = s[i];
    if (is_alnum(c) || c == '.')
      best = i + 1;
    else if (c != '-' && c != '_')
      break;
  }
  return best;
}

// HID: N.N | N.N.N | N.N.N.N (longest)
size_t match_hid(std::string_view s) {
  size_t pos = 0, best = 0;
  for (int parts = 1; parts <= 4; parts++) {
    size_t n = match_num(s.substr(pos));
    if (n == 0) break;
    pos += n;
    if (parts >= 2) best = pos;
    if (pos >= s.size() || s[pos] != '.') break;
    pos++;
  }
  return best;
}

// B: one or two hex digits; B2: exactly four.
size_t match_hexrun(std::string_view s, size_t min, size_t max) {
  size_t i = 0;
  while (i < s.size() && i < max && is_hex(s[i])) i++;
  return i >= min ? i : 0;
}

// MAC: B:B:B:B:B:B | B-B-B-B-B-B | B.B.B.B.B.B | B2.B2.B2 | B2{3}
size_t match_mac(std::string_view s) {
  size_t best = 0;
  for (char sep : {':', '-', '.'}) {
    size_t pos = 0;
    bool ok = true;
    for (int i = 0; i < 6 && ok; i++) {
      if (i > 0) {
        if (pos >= s.size() || s[pos] != sep) {
          ok = false;
          break;
        }
        pos++;
      }
      size_t n = match_hexrun(s.substr(pos), 1, 2);
      if (!n) ok = false;
      pos += n;
    }
    if (ok) best = std::max(best, pos);
  }
  {
    size_t pos = 0;
    bool ok = true;
    for (int i = 0; i < 3 && ok; i++) {
      if (i > 0) {
        if (pos >= s.size() || s[pos] != '.') {
          ok = false;
          break;
        }
        pos++;
      }
      if (match_hexrun(s.substr(pos), 4, 4) != 4) ok = false;
      pos += 4;
    }
    if (ok) best = std::max(best, pos);
  }
  if (match_hexrun(s, 12, 12) == 12) best = std::max<size_t>(best, 12);
  return best;
}

// Does all of t match V6 (scanner.l's V680..V6004 alternatives)? Groups of
// 1-4 hex digits, 8 of them, or fewer around one "::", optionally ending in
// a dotted quad that stands for the last two.
bool is_v6(std::string_view t) {
  auto count_groups = [](std::string_view part, int& groups) {
    groups = 0;
    if (part.empty()) return true;
    size_t pos = 0;
    while (true) {
      size_t n = match_hexrun(part.substr(pos), 1, 4);
      if (!n) return false;
      pos += n;
      groups++;
      if (pos == part.size()) return true;
      if (part[pos] != ':') return false;
      pos++;
    }
  };
  // A trailing dotted quad (N.N.N.N) counts as two groups.
  int quad = 0;
  std::string_view head = t;
  size_t last_colon = t.rfind(':');
  if (last_colon != std::string_view::npos && t.find('.', last_colon) != std::string_view::npos) {
    std::string_view q = t.substr(last_colon + 1);
    if (match_hid(q) != q.size() || std::count(q.begin(), q.end(), '.') != 3) return false;
    quad = 2;
    head = t.substr(0, last_colon + 1);  // keeps the ':' before the quad
  }
  size_t dc = head.find("::");
  if (dc == std::string_view::npos) {
    if (quad) {
      if (head.empty() || head.back() != ':') return false;
      head.remove_suffix(1);
    }
    int g;
    return count_groups(head, g) && g + quad == 8;
  }
  if (head.find("::", dc + 1) != std::string_view::npos) return false;
  std::string_view left = head.substr(0, dc), right = head.substr(dc + 2);
  if (quad && !right.empty()) {
    if (right.back() != ':') return false;
    right.remove_suffix(1);
  }
  int gl, gr;
  if (!count_groups(left, gl) || !count_groups(right, gr)) return false;
  return gl + gr + quad <= (quad ? 6 : 7);
}

// Every prefix of the run is a candidate, and checking one is linear: the
// run is cut to what any address can be (8 groups of 4 and a dotted quad
// of 3-digit numbers, 45 characters; longer V6 matches are bogus addresses
// in libpcap too) and must hold a colon, so that a 100,000-digit number
// costs nothing here.
constexpr size_t kMaxV6 = 64;

size_t match_v6(std::string_view s) {
  size_t run = 0;
  bool colon = false;
  while (run < s.size() && run < kMaxV6 && (is_hex(s[run]) || s[run] == ':' || s[run] == '.'))
    colon |= s[run++] == ':';
  if (!colon) return 0;
  for (size_t n = run; n >= 2; n--)
    if (is_v6(s.substr(0, n))) return n;
  return 0;
}

// Bogus ethernet: {B}:+({B}:+)+
size_t match_bogus_mac(std::string_view s) {
  size_t pos = 0, groups = 0;
  while (true) {
    size_t n = match_hexrun(s.substr(pos), 1, 2);
    if (!n || pos + n >= s.size() || s[pos + n] != ':') break;
    pos += n;
    while (pos < s.size() && s[pos] == ':') pos++;
    groups++;
  }
  return groups >= 2 ? pos : 0;
}

// A token quoted in a message: a 100,000-digit number is shown by its start.
std::string quoted(std::string_view t) {
  return t.size() <= 40 ? std::string(t) : std::string(t.substr(0, 32)) + "...";
}

// libpcap's stou(): decimal, 0x hex, or leading-0 octal, checked for overflow.
bool parse_number(std::string_view t, uint32_t& out, std::string& err) {
  uint64_t n = 0;
  std::string text = quoted(t);
  if (t.size() > 1 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X')) {
    for (char c : t.substr(2)) {
      n = n * 16 + (is_digit(c) ? c - '0' : (std::tolower(c) - 'a' + 10));
      if (n > 0xffffffffu) {
        err = "number " + text + " overflows 32 bits";
        return false;
      }
    }
  } else if (t.size() > 1 && t[0] == '0') {
    for (char c : t.substr(1)) {
      if (c > '7') {
        err = "number " + text + " contains non-octal digit";
        return false;
      }
      n = n * 8 + (c - '0');
      if (n > 0xffffffffu) {
        err = "number " + text + " overflows 32 bits";
        return false;
      }
    }
  } else {
    for (char c : t) {
      n = n * 10 + (c - '0');
      if (n > 0xffffffffu) {
        err = "number " + text + " overflows 32 bits";
        return false;
      }
    }
  }
  out = static_cast<uint32_t>(n);
  return true;
}

}  // namespace

const char* proto_name(Proto p) {
  switch (p) {
    case Proto::Default: return "";
    case Proto::Link: return "link";
    case Proto::Ip: return "ip";
    case Proto::Arp: return "arp";
    case Proto::Rarp: return "rarp";
    case Proto::Sctp: return "sctp";
    case Proto::Tcp: return "tcp";
    case Proto::Udp: return "udp";
    case Proto::Icmp: return "icmp";
    case Proto::Igmp: return "igmp";
    case Proto::Igrp: return "igrp";
    case Proto::Pim: return "pim";
    case Proto::Vrrp: return "vrrp";
    case Proto::Carp: return "carp";
    case Proto::Atalk: return "atalk";
    case Proto::Aarp: return "aarp";
    case Proto::Decnet: return "decnet";
    case Proto::Lat: return "lat";
    case Proto::Sca: return "sca";
    case Proto::Moprc: return "moprc";
    case Proto::Mopdl: return "mopdl";
    case Proto::Ip6: return "ip6";
    case Proto::Icmp6: return "icmp6";
    case Proto::Ah: return "ah";
    case Proto::Esp: return "esp";
    case Proto::Iso: return "iso";
    case Proto::Esis: return "esis";
    case Proto::Isis: return "isis";
    case Proto::IsisL1: return "l1";
    case Proto::IsisL2: return "l2";
    case Proto::IsisIih: return "iih";
    case Proto::IsisLsp: return "lsp";
    case Proto::IsisSnp: return "snp";
    case Proto::IsisPsnp: return "psnp";
    case Proto::IsisCsnp: return "csnp";
    case Proto::Clnp: return "clnp";
    case Proto::Stp: return "stp";
    case Proto::Ipx: return "ipx";
    case Proto::Netbeui: return "netbeui";
    case Proto::Radio: return "radio";
  }
  return "?";
}

Expected<std::vector<Token>> lex(const std::string& expr) {
  std::vector<Token> out;
  std::string_view all(expr);
  size_t i = 0;
  while (i < all.size()) {
    char c = all[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      i++;
      continue;
    }
    std::string_view s = all.substr(i);
    Token t;
    // Longest match among the patterns; on a tie the earlier scanner rule.
    size_t kw_len = 0;
    const Keyword* kw = nullptr;
    for (const Keyword& k : kKeywords) {
      size_t n = std::strlen(k.text);
      if (n > kw_len && s.substr(0, n) == k.text) kw_len = n, kw = &k;
    }
    size_t op_len = 0;
    Tok op = Tok::Error;
    static constexpr std::pair<const char*, Tok> kOps[] = {
        {">=", Tok::Geq},    {"<=", Tok::Leq},  {"!=", Tok::Neq},     {"==", Tok::Eq},
        {"<<", Tok::Lsh},    {">>", Tok::Rsh},  {"&&", Tok::And},     {"||", Tok::Or},
        {"+", Tok::Plus},    {"-", Tok::Minus}, {"*", Tok::Star},     {"/", Tok::Slash},
        {"%", Tok::Percent}, {":", Tok::Colon}, {"[", Tok::LBracket}, {"]", Tok::RBracket},
        {"!", Tok::Not},     {"<", Tok::Lt},    {">", Tok::Gt},       {"(", Tok::LParen},
        {")", Tok::RParen},  {"&", Tok::Amp},   {"|", Tok::Pipe},     {"^", Tok::Caret},
        {"=", Tok::Eq}};
    for (auto [text, kind] : kOps) {
      size_t n = std::strlen(text);
      if (n > op_len && s.substr(0, n) == text) op_len = n, op = kind;
    }
    size_t aid = (c == '$') ? 1 + match_hexrun(s.substr(1), 1, 2) : 0;
    if (aid == 1) aid = 0;
    size_t mac = match_mac(s), num = match_num(s), hid = match_hid(s), v6 = match_v6(s);
    size_t bogus = match_bogus_mac(s);
    size_t konst_len = 0;
    const NamedConstant* konst = nullptr;
    for (const NamedConstant& k : kConstants) {
      size_t n = std::strlen(k.text);
      if (n > konst_len && s.substr(0, n) == k.text) konst_len = n, konst = &k;
    }
    size_t id = match_id(s);
    size_t esc = 0;
    if (c == '\\') {
      esc = 1;
      while (esc < s.size() && !std::strchr(" !()\n\t", s[esc])) esc++;
      if (esc == 1) esc = 0;
    }
    // Rule order of scanner.l: keywords, operators, AID, MAC, N, HID, V6,
    // bogus MAC, named constants, ID, escaped ID.
    size_t best = std::max({kw_len, op_len, aid, mac, num, hid, v6, bogus, konst_len, id, esc});
    if (best == 0) {
      // A control byte or a byte of UTF-8 is named by its value: the
      // rendering shows it as a blank or '?' to keep the caret aligned.
      auto u = static_cast<unsigned char>(c);
      char name[8];
      if (u < 0x20 || u >= 0x7f)
        std::snprintf(name, sizeof name, "0x%02x", u);
      else
        std::snprintf(name, sizeof name, "'%c'", c);
      return error({uint32_t(i), uint32_t(i + 1)},
                   std::string("illegal character ") + name + " in filter expression");
    }
    t.range = {uint32_t(i), uint32_t(i + best)};
    t.text = std::string(s.substr(0, best));
    if (kw_len == best) {
      t.kind = kw->kind;
      t.proto = kw->proto;
    } else if (op_len == best) {
      t.kind = op;
    } else if (aid == best) {
      t.kind = Tok::Aid;
    } else if (mac == best) {
      t.kind = Tok::Eid;
    } else if (num == best) {
      t.kind = Tok::Num;
      std::string err;
      if (!parse_number(t.text, t.num, err)) return error(t.range, err);
    } else if (hid == best) {
      t.kind = Tok::Hid;
    } else if (v6 == best) {
      t.kind = Tok::Hid6;
      in6_addr a;
      if (inet_pton(AF_INET6, t.text.c_str(), &a) != 1)
        return error(t.range, "bogus IPv6 address " + quoted(t.text));
    } else if (bogus == best) {
      return error(t.range, "bogus ethernet address " + quoted(t.text));
    } else if (konst_len == best) {
      t.kind = Tok::Num;
      t.num = konst->value;
    } else if (id == best) {
      t.kind = Tok::Id;
    } else {
      t.kind = Tok::Id;
      t.text = t.text.substr(1);
    }
    out.push_back(std::move(t));
    i += best;
  }
  Token end;
  end.kind = Tok::End;
  end.range = {uint32_t(all.size()), uint32_t(all.size())};
  out.push_back(end);
  return out;
}

}  // namespace dw::filter
