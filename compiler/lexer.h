// Tokens of the pcap-filter language as libpcap 1.10's flex scanner makes
// them: longest match first, then the earlier rule (keywords before names,
// numbers before dotted hosts). See grammar/README.md.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "compiler/diagnostic.h"

namespace dw::filter {

// Protocol qualifiers (libpcap's Q_* for `pname`).
enum class Proto : uint8_t {
  Default,
  Link,
  Ip,
  Arp,
  Rarp,
  Sctp,
  Tcp,
  Udp,
  Icmp,
  Igmp,
  Igrp,
  Pim,
  Vrrp,
  Carp,
  Atalk,
  Aarp,
  Decnet,
  Lat,
  Sca,
  Moprc,
  Mopdl,
  Ip6,
  Icmp6,
  Ah,
  Esp,
  Iso,
  Esis,
  Isis,
  IsisL1,
  IsisL2,
  IsisIih,
  IsisLsp,
  IsisSnp,
  IsisPsnp,
  IsisCsnp,
  Clnp,
  Stp,
  Ipx,
  Netbeui,
  Radio,
};
const char* proto_name(Proto p);

enum class Tok : uint8_t {
  End,
  Error,
  Num,
  Hid,
  Hid6,
  Eid,
  Aid,
  Id,
  // punctuation
  Plus,
  Minus,
  Star,
  Slash,
  Percent,
  Colon,
  LBracket,
  RBracket,
  Not,
  Lt,
  Gt,
  LParen,
  RParen,
  Amp,
  Pipe,
  Caret,
  Eq,
  Geq,
  Leq,
  Neq,
  Lsh,
  Rsh,
  // protocol names (`proto` holds which)
  Pname,
  // direction, address type
  Src,
  Dst,
  Host,
  Net,
  Mask,
  Port,
  Portrange,
  ProtoKw,
  Protochain,
  Gateway,
  Type,
  Subtype,
  DirKw,
  Addr1,
  Addr2,
  Addr3,
  Addr4,
  Ra,
  Ta,
  Less,
  Greater,
  Byte,
  Broadcast,
  Multicast,
  And,
  Or,
  Len,
  Inbound,
  Outbound,
  Ifindex,
  Vlan,
  Mpls,
  Pppoed,
  Pppoes,
  Geneve,
  Llc,
  // link types we never compile for (ATM, SS7 MTP, pflog): parsed to reject
  AtmKw,
  MtpKw,
  PfKw,
};

struct Token {
  Tok kind = Tok::End;
  SourceRange range;
  std::string text;              // as written (Id: without a leading backslash)
  uint32_t num = 0;              // Num
  Proto proto = Proto::Default;  // Pname
};

// Lexes the whole expression; the last token is End. Lexical errors
// (overflowing numbers, bogus addresses, stray characters) are returned.
Expected<std::vector<Token>> lex(const std::string& expr);

}  // namespace dw::filter
