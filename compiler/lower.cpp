#include "compiler/lower.h"

#include <map>
#include <tuple>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <optional>

#include "compiler/names.h"

namespace dw::filter {
namespace {

using ir::CmpOp;
using ir::PredPtr;
using ir::ValuePtr;

// Ethertypes, LLC SAPs, PPP protocols libpcap's code generator uses.
constexpr uint32_t kEthIp = 0x0800, kEthArp = 0x0806, kEthRevArp = 0x8035, kEthIp6 = 0x86dd;
constexpr uint32_t kEthAtalk = 0x809b, kEthAarp = 0x80f3, kEthDn = 0x6003, kEthSca = 0x6007;
constexpr uint32_t kEthLat = 0x6004, kEthMopDl = 0x6001, kEthMopRc = 0x6002, kEthIpx = 0x8137;
constexpr uint32_t kEthNs = 0x0600, kEth8021Q = 0x8100, kEth8021AD = 0x88a8, kEthQinQ = 0x9100;
constexpr uint32_t kEthMpls = 0x8847, kEthPppoeD = 0x8863, kEthPppoeS = 0x8864;
constexpr uint32_t kEtherMtu = 1500;
constexpr uint32_t kSapIp = 0x06, kSapIsoNs = 0xfe, kSapNetbeui = 0xf0, kSapIpx = 0xe0;
constexpr uint32_t kSap8021D = 0x42, kSapSnap = 0xaa;
constexpr uint32_t kIsoEsis = 0x82, kIsoIsis = 0x83, kIsoClnp = 0x81;
constexpr uint32_t kPppMplsUcast = 0x0281;

// IS-IS PDU types
constexpr uint32_t kIsisL1LanIih = 15, kIsisL2LanIih = 16, kIsisPtpIih = 17, kIsisL1Lsp = 18,
                   kIsisL2Lsp = 20, kIsisL1Csnp = 24, kIsisL2Csnp = 25, kIsisL1Psnp = 26,
                   kIsisL2Psnp = 27;

enum class Dlt { Ethernet, Raw, Ppp };

// An offset: an optional run-time part plus a constant, as libpcap's
// bpf_abs_offset.
struct Offset {
  ValuePtr var;
  uint32_t k = 0;
  bool set = true;
};

// Where a load is relative to (libpcap's enum e_offrel).
enum class Rel {
  Packet,
  LinkHdr,
  PrevLinkHdr,
  LinkType,
  LinkPl,
  LinkPlNoSnap,
  Llc,
  PrevMplsHdr,
  TranIpv4,
  TranIpv6
};

// An arithmetic operand: its value, the protocol checks that guard it
// (libpcap's arth->b), and its value when it folds to a constant.
struct Operand {
  ValuePtr v;
  PredPtr checks;
  std::optional<uint32_t> konst;
};

class Lowering {
 public:
  explicit Lowering(const LowerOptions& o) : opts_(o) {
    if (o.link == LinkType::Ethernet) {
      linktype_ = prevlinktype_ = Dlt::Ethernet;
      off_linktype_.k = 12;
      off_linkpl_.k = 14;
      off_nl_nosnap_ = 3;
    } else {
      linktype_ = prevlinktype_ = Dlt::Raw;
      off_linktype_.set = false;
    }
  }

  Expected<Lowered> run(const Node* root) {
    if (!root) return Lowered{ir::truth(true), true};
    no_optimize_ = uses_unoptimizable(*root);
    PredPtr p = node(*root);
    if (err_) return std::unexpected(*err_);
    return Lowered{p, !no_optimize_};
  }

 private:
  // --- errors: the first one wins, as libpcap's longjmp does ---------------
  PredPtr fail(SourceRange r, std::string msg) {
    if (!err_) err_ = Diagnostic{r, std::move(msg)};
    return ir::truth(false);
  }
  SourceRange at_;  // range of the node being lowered, for errors below it

  // --- loads ---------------------------------------------------------------
  static ValuePtr add(ValuePtr a, ValuePtr b) {
    return ir::binary(ArithOp::Add, std::move(a), std::move(b));
  }

  ValuePtr iphdrlen() {
    ValuePtr hl = ir::load(off_linkpl_.var, off_linkpl_.k + off_nl_, 1);
    hl = ir::binary(ArithOp::Lsh, ir::binary(ArithOp::And, hl, ir::konst(0xf)), ir::konst(2));
    return off_linkpl_.var ? add(hl, off_linkpl_.var) : hl;
  }

  ValuePtr load_at(Rel rel, uint32_t off, uint8_t size) {
    switch (rel) {
      case Rel::Packet: return ir::load(nullptr, off, size);
      case Rel::LinkHdr: return ir::load(off_linkhdr_.var, off_linkhdr_.k + off, size);
      case Rel::PrevLinkHdr: return ir::load(off_prevlinkhdr_.var, off_prevlinkhdr_.k + off, size);
      case Rel::Llc: return ir::load(off_linkpl_.var, off_linkpl_.k + off, size);
      case Rel::PrevMplsHdr:
        return ir::load(off_linkpl_.var, off_linkpl_.k + off_nl_ - 4 + off, size);
      case Rel::LinkPl: return ir::load(off_linkpl_.var, off_linkpl_.k + off_nl_ + off, size);
      case Rel::LinkPlNoSnap:
        return ir::load(off_linkpl_.var, off_linkpl_.k + off_nl_nosnap_ + off, size);
      case Rel::LinkType: return ir::load(off_linktype_.var, off_linktype_.k + off, size);
      case Rel::TranIpv4: return ir::load(iphdrlen(), off_linkpl_.k + off_nl_ + off, size);
      case Rel::TranIpv6:
        return ir::load(off_linkpl_.var, off_linkpl_.k + off_nl_ + 40 + off, size);
    }
    return nullptr;
  }

  PredPtr ncmp(Rel rel, uint32_t off, uint8_t size, uint32_t mask, CmpOp op, bool reverse,
               uint32_t v) {
    ValuePtr x = load_at(rel, off, size);
    if (mask != 0xffffffff) x = ir::binary(ArithOp::And, x, ir::konst(mask));
    PredPtr p = ir::cmp(op, x, v);
    return reverse ? ir::negate(p) : p;
  }
  PredPtr cmp(Rel r, uint32_t off, uint8_t size, uint32_t v) {
    return ncmp(r, off, size, 0xffffffff, CmpOp::Eq, false, v);
  }
  PredPtr cmp_gt(Rel r, uint32_t off, uint8_t size, uint32_t v) {
    return ncmp(r, off, size, 0xffffffff, CmpOp::Gt, false, v);
  }
  PredPtr cmp_ge(Rel r, uint32_t off, uint8_t size, uint32_t v) {
    return ncmp(r, off, size, 0xffffffff, CmpOp::Ge, false, v);
  }
  PredPtr cmp_lt(Rel r, uint32_t off, uint8_t size, uint32_t v) {
    return ncmp(r, off, size, 0xffffffff, CmpOp::Ge, true, v);
  }
  PredPtr cmp_le(Rel r, uint32_t off, uint8_t size, uint32_t v) {
    return ncmp(r, off, size, 0xffffffff, CmpOp::Gt, true, v);
  }
  PredPtr mcmp(Rel r, uint32_t off, uint8_t size, uint32_t v, uint32_t mask) {
    return ncmp(r, off, size, mask, CmpOp::Eq, false, v);
  }
  PredPtr jset(Rel r, uint32_t off, uint8_t size, uint32_t mask) {
    return ir::cmp(CmpOp::Set, load_at(r, off, size), mask);
  }
  // Byte-string compare, last word first (libpcap's gen_bcmp).
  PredPtr bcmp(Rel r, uint32_t off, const uint8_t* v, uint32_t size) {
    PredPtr b;
    while (size >= 4) {
      const uint8_t* p = v + size - 4;
      uint32_t w = uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
      b = ir::all(b, cmp(r, off + size - 4, 4, w));
      size -= 4;
    }
    while (size >= 2) {
      const uint8_t* p = v + size - 2;
      b = ir::all(b, cmp(r, off + size - 2, 2, uint32_t(p[0]) << 8 | p[1]));
      size -= 2;
    }
    if (size > 0) b = ir::all(b, cmp(r, off, 1, v[0]));
    return b;
  }

  // --- link types ----------------------------------------------------------
  PredPtr not_8023() { return ir::negate(cmp_gt(Rel::LinkType, 0, 2, kEtherMtu)); }

  PredPtr snap(uint32_t orgcode, uint32_t ptype) {
    uint8_t b[8] = {uint8_t(kSapSnap),      uint8_t(kSapSnap),     0x03,
                    uint8_t(orgcode >> 16), uint8_t(orgcode >> 8), uint8_t(orgcode),
                    uint8_t(ptype >> 8),    uint8_t(ptype)};
    return bcmp(Rel::Llc, 0, b, 8);
  }

  PredPtr ether_linktype(uint32_t p) {
    switch (p) {
      case kSapIsoNs:
      case kSapIp:
      case kSapNetbeui: return ir::all(not_8023(), cmp(Rel::Llc, 0, 2, (p << 8) | p));
      case kSapIpx: {
        PredPtr b1 = ir::any(cmp(Rel::Llc, 0, 1, kSapIpx), cmp(Rel::Llc, 0, 2, 0xffff));
        b1 = ir::any(snap(0x000000, kEthIpx), b1);
        b1 = ir::all(not_8023(), b1);
        return ir::any(cmp(Rel::LinkType, 0, 2, kEthIpx), b1);
      }
      case kEthAtalk:
      case kEthAarp: {
        PredPtr b1 = p == kEthAtalk ? snap(0x080007, kEthAtalk) : snap(0x000000, kEthAarp);
        b1 = ir::all(not_8023(), b1);
        return ir::any(cmp(Rel::LinkType, 0, 2, p), b1);
      }
      default:
        if (p <= kEtherMtu) return ir::all(not_8023(), cmp(Rel::LinkType, 2, 1, p));
        return cmp(Rel::LinkType, 0, 2, p);
    }
  }

  static uint32_t ppp_type(uint32_t p) {
    switch (p) {
      case kEthIp: return 0x0021;
      case kEthIp6: return 0x0057;
      case kEthDn: return 0x0027;
      case kEthAtalk: return 0x0029;
      case kEthNs: return 0x0025;
      case kSapIsoNs: return 0x0023;
      case kSap8021D: return 0x0031;
      case kSapIpx: return 0x002b;
      default: return p;
    }
  }

  PredPtr mpls_linktype(uint32_t p) {
    if (p != kEthIp && p != kEthIp6) return fail(at_, "unsupported protocol over mpls");
    // bottom of stack bit of the previous label, then the IP version
    PredPtr b0 = mcmp(Rel::LinkPl, uint32_t(-2), 1, 0x01, 0x01);
    return ir::all(b0, mcmp(Rel::LinkPl, 0, 1, p == kEthIp ? 0x40 : 0x60, 0xf0));
  }

  PredPtr linktype(uint32_t p) {
    if (label_stack_depth_ > 0) return mpls_linktype(p);
    switch (linktype_) {
      case Dlt::Ethernet: return ether_linktype(p);
      case Dlt::Raw:
        if (p == kEthIp) return mcmp(Rel::LinkHdr, 0, 1, 0x40, 0xf0);
        if (p == kEthIp6) return mcmp(Rel::LinkHdr, 0, 1, 0x60, 0xf0);
        return ir::truth(false);
      case Dlt::Ppp: return cmp(Rel::LinkType, 0, 2, ppp_type(p));
    }
    return nullptr;
  }

  const char* link_description() const {
    switch (linktype_) {
      case Dlt::Ethernet: return "Ethernet";
      case Dlt::Raw: return "Raw IP";
      case Dlt::Ppp: return "PPP";
    }
    return "?";
  }

  // --- protocols -----------------------------------------------------------
  PredPtr ipfrag() { return ir::negate(jset(Rel::LinkPl, 6, 2, 0x1fff)); }

  PredPtr proto(uint32_t v, Proto p, Dir dir) {
    if (dir != Dir::Default) return fail(at_, "direction applied to 'proto'");
    switch (p) {
      case Proto::Default: {
        PredPtr b0 = proto(v, Proto::Ip, dir);
        return ir::any(b0, proto(v, Proto::Ip6, dir));
      }
      case Proto::Link: return linktype(v);
      case Proto::Ip: {
        PredPtr b0 = linktype(kEthIp);
        return ir::all(b0, cmp(Rel::LinkPl, 9, 1, v));
      }
      case Proto::Ip6: {
        PredPtr b0 = linktype(kEthIp6);
        PredPtr frag =
            ir::all(cmp(Rel::LinkPl, 6, 1, IPPROTO_FRAGMENT), cmp(Rel::LinkPl, 40, 1, v));
        PredPtr b1 = ir::any(cmp(Rel::LinkPl, 6, 1, v), frag);
        return ir::all(b0, b1);
      }
      case Proto::Iso: {
        PredPtr b0 = linktype(kSapIsoNs);
        return ir::all(b0, cmp(Rel::LinkPlNoSnap, 0, 1, v));
      }
      case Proto::Isis: {
        PredPtr b0 = proto(kIsoIsis, Proto::Iso, Dir::Default);
        return ir::all(b0, cmp(Rel::LinkPlNoSnap, 4, 1, v));
      }
      case Proto::Arp: return fail(at_, "arp does not encapsulate another protocol");
      case Proto::Rarp: return fail(at_, "rarp does not encapsulate another protocol");
      case Proto::Atalk: return fail(at_, "AppleTalk encapsulation is not specifiable");
      case Proto::Decnet: return fail(at_, "DECNET encapsulation is not specifiable");
      case Proto::Lat: return fail(at_, "LAT does not encapsulate another protocol");
      case Proto::Sca: return fail(at_, "SCA does not encapsulate another protocol");
      case Proto::Moprc: return fail(at_, "MOPRC does not encapsulate another protocol");
      case Proto::Mopdl: return fail(at_, "MOPDL does not encapsulate another protocol");
      case Proto::Clnp: return fail(at_, "'clnp proto' is not supported");
      default: return fail(at_, std::string("'") + proto_name(p) + " proto' is bogus");
    }
  }

  PredPtr proto_abbrev(Proto p) {
    switch (p) {
      case Proto::Sctp: return proto(IPPROTO_SCTP, Proto::Default, Dir::Default);
      case Proto::Tcp: return proto(IPPROTO_TCP, Proto::Default, Dir::Default);
      case Proto::Udp: return proto(IPPROTO_UDP, Proto::Default, Dir::Default);
      case Proto::Icmp: return proto(IPPROTO_ICMP, Proto::Ip, Dir::Default);
      case Proto::Igmp: return proto(IPPROTO_IGMP, Proto::Ip, Dir::Default);
      case Proto::Igrp: return proto(9, Proto::Ip, Dir::Default);
      case Proto::Pim: return proto(IPPROTO_PIM, Proto::Default, Dir::Default);
      case Proto::Vrrp: return proto(112, Proto::Ip, Dir::Default);
      case Proto::Carp: return proto(112, Proto::Ip, Dir::Default);
      case Proto::Ip: return linktype(kEthIp);
      case Proto::Arp: return linktype(kEthArp);
      case Proto::Rarp: return linktype(kEthRevArp);
      case Proto::Link: return fail(at_, "link layer applied in wrong context");
      case Proto::Atalk: return linktype(kEthAtalk);
      case Proto::Aarp: return linktype(kEthAarp);
      case Proto::Decnet: return linktype(kEthDn);
      case Proto::Sca: return linktype(kEthSca);
      case Proto::Lat: return linktype(kEthLat);
      case Proto::Mopdl: return linktype(kEthMopDl);
      case Proto::Moprc: return linktype(kEthMopRc);
      case Proto::Ip6: return linktype(kEthIp6);
      case Proto::Icmp6: return proto(IPPROTO_ICMPV6, Proto::Ip6, Dir::Default);
      case Proto::Ah: return proto(IPPROTO_AH, Proto::Default, Dir::Default);
      case Proto::Esp: return proto(IPPROTO_ESP, Proto::Default, Dir::Default);
      case Proto::Iso: return linktype(kSapIsoNs);
      case Proto::Esis: return proto(kIsoEsis, Proto::Iso, Dir::Default);
      case Proto::Isis: return proto(kIsoIsis, Proto::Iso, Dir::Default);
      case Proto::IsisL1:
        return isis_any({kIsisL1LanIih, kIsisPtpIih, kIsisL1Lsp, kIsisL1Csnp, kIsisL1Psnp});
      case Proto::IsisL2:
        return isis_any({kIsisL2LanIih, kIsisPtpIih, kIsisL2Lsp, kIsisL2Csnp, kIsisL2Psnp});
      case Proto::IsisIih: return isis_any({kIsisL1LanIih, kIsisL2LanIih, kIsisPtpIih});
      case Proto::IsisLsp: return isis_any({kIsisL1Lsp, kIsisL2Lsp});
      case Proto::IsisSnp: return isis_any({kIsisL1Csnp, kIsisL2Csnp, kIsisL1Psnp, kIsisL2Psnp});
      case Proto::IsisCsnp: return isis_any({kIsisL1Csnp, kIsisL2Csnp});
      case Proto::IsisPsnp: return isis_any({kIsisL1Psnp, kIsisL2Psnp});
      case Proto::Clnp: return proto(kIsoClnp, Proto::Iso, Dir::Default);
      case Proto::Stp: return linktype(kSap8021D);
      case Proto::Ipx: return linktype(kSapIpx);
      case Proto::Netbeui: return linktype(kSapNetbeui);
      case Proto::Radio: return fail(at_, "'radio' is not a valid protocol type");
      case Proto::Default: break;
    }
    return fail(at_, "syntax error");
  }

  // libpcap ORs IS-IS PDU types as ((a or b) or c) ..., the first two
  // generated before the rest.
  PredPtr isis_any(std::initializer_list<uint32_t> types) {
    auto it = types.begin();
    PredPtr b0 = proto(*it++, Proto::Isis, Dir::Default);
    PredPtr b1 = proto(*it++, Proto::Isis, Dir::Default);
    b1 = ir::any(b0, b1);
    for (; it != types.end(); ++it) b1 = ir::any(proto(*it, Proto::Isis, Dir::Default), b1);
    return b1;
  }

  // --- hosts and nets ------------------------------------------------------
  PredPtr hostop(uint32_t addr, uint32_t mask, Dir dir, uint32_t ll, uint32_t src_off,
                 uint32_t dst_off) {
    uint32_t off;
    switch (dir) {
      case Dir::Src: off = src_off; break;
      case Dir::Dst: off = dst_off; break;
      case Dir::And: {
        PredPtr b0 = hostop(addr, mask, Dir::Src, ll, src_off, dst_off);
        return ir::all(b0, hostop(addr, mask, Dir::Dst, ll, src_off, dst_off));
      }
      case Dir::Default:
      case Dir::Or: {
        PredPtr b0 = hostop(addr, mask, Dir::Src, ll, src_off, dst_off);
        return ir::any(b0, hostop(addr, mask, Dir::Dst, ll, src_off, dst_off));
      }
      default: return wlan_dir_error(dir);
    }
    PredPtr b0 = linktype(ll);
    return ir::all(b0, mcmp(Rel::LinkPl, off, 4, addr, mask));
  }

  PredPtr wlan_dir_error(Dir d) {
    switch (d) {
      case Dir::Addr1:
        return fail(at_,
                    "'addr1' and 'address1' are not valid qualifiers for addresses other than "
                    "802.11 MAC addresses");
      case Dir::Addr2:
        return fail(at_,
                    "'addr2' and 'address2' are not valid qualifiers for addresses other than "
                    "802.11 MAC addresses");
      case Dir::Addr3:
        return fail(at_,
                    "'addr3' and 'address3' are not valid qualifiers for addresses other than "
                    "802.11 MAC addresses");
      case Dir::Addr4:
        return fail(at_,
                    "'addr4' and 'address4' are not valid qualifiers for addresses other than "
                    "802.11 MAC addresses");
      case Dir::Ra:
        return fail(at_,
                    "'ra' is not a valid qualifier for addresses other than 802.11 MAC addresses");
      default:
        return fail(at_,
                    "'ta' is not a valid qualifier for addresses other than 802.11 MAC addresses");
    }
  }

  PredPtr host(uint32_t addr, uint32_t mask, Proto p, Dir dir, Addr type) {
    const char* what = type == Addr::Net ? "net" : "host";
    switch (p) {
      case Proto::Default: {
        PredPtr b0 = host(addr, mask, Proto::Ip, dir, type);
        if (label_stack_depth_ == 0) {
          PredPtr b1 = ir::any(b0, host(addr, mask, Proto::Arp, dir, type));
          b0 = ir::any(b1, host(addr, mask, Proto::Rarp, dir, type));
        }
        return b0;
      }
      case Proto::Ip: return hostop(addr, mask, dir, kEthIp, 12, 16);
      case Proto::Rarp: return hostop(addr, mask, dir, kEthRevArp, 14, 24);
      case Proto::Arp: return hostop(addr, mask, dir, kEthArp, 14, 24);
      case Proto::Link: return fail(at_, std::string("link-layer modifier applied to ") + what);
      case Proto::Ip6: return fail(at_, "'ip6' modifier applied to ip host");
      case Proto::Atalk: return fail(at_, "AppleTalk host filtering not implemented");
      case Proto::Decnet: return dnhostop(addr, dir);
      case Proto::Lat: return fail(at_, "LAT host filtering not implemented");
      case Proto::Sca: return fail(at_, "SCA host filtering not implemented");
      case Proto::Moprc: return fail(at_, "MOPRC host filtering not implemented");
      case Proto::Mopdl: return fail(at_, "MOPDL host filtering not implemented");
      case Proto::Aarp: return fail(at_, "AARP host filtering not implemented");
      case Proto::Iso: return fail(at_, "ISO host filtering not implemented");
      case Proto::Ipx: return fail(at_, "IPX host filtering not implemented");
      default: return fail(at_, std::string("'") + proto_name(p) + "' modifier applied to " + what);
    }
  }

  // DECnet "area.node" (libpcap's __pcap_atodn).
  static bool atodn(const std::string& s, uint32_t& addr) {
    unsigned area, node;
    if (std::sscanf(s.c_str(), "%u.%u", &area, &node) != 2) return false;
    addr = ((area << 10) & 0176000) | (node & 01777);
    return true;
  }

  // libpcap's gen_dnhostop(): the DECnet routing header comes in long and
  // short forms, with or without a padding byte; each is tested, constants
  // in the byte order libpcap's ntohs() gives them on a little-endian host.
  PredPtr dnhostop(uint32_t addr, Dir dir) {
    uint32_t lh, sh;
    switch (dir) {
      case Dir::Dst:
        sh = 1;
        lh = 7;
        break;
      case Dir::Src:
        sh = 3;
        lh = 15;
        break;
      case Dir::And: {
        PredPtr b0 = dnhostop(addr, Dir::Src);
        return ir::all(b0, dnhostop(addr, Dir::Dst));
      }
      case Dir::Default:
      case Dir::Or: {
        PredPtr b0 = dnhostop(addr, Dir::Src);
        return ir::any(b0, dnhostop(addr, Dir::Dst));
      }
      default: return wlan_dir_error(dir);
    }
    auto swap16 = [](uint32_t v) { return ((v & 0xff) << 8) | ((v >> 8) & 0xff); };
    uint32_t a = swap16(addr & 0xffff);
    PredPtr b0 = linktype(kEthDn);
    PredPtr tmp = mcmp(Rel::LinkPl, 2, 2, swap16(0x0681), swap16(0x07ff));
    PredPtr b1 = ir::all(tmp, cmp(Rel::LinkPl, 2 + 1 + lh, 2, a));
    tmp = mcmp(Rel::LinkPl, 2, 1, 0x06, 0x7);
    PredPtr b2 = ir::all(tmp, cmp(Rel::LinkPl, 2 + lh, 2, a));
    b1 = ir::any(b2, b1);
    tmp = mcmp(Rel::LinkPl, 2, 2, swap16(0x0281), swap16(0x07ff));
    b2 = ir::all(tmp, cmp(Rel::LinkPl, 2 + 1 + sh, 2, a));
    b1 = ir::any(b2, b1);
    tmp = mcmp(Rel::LinkPl, 2, 1, 0x02, 0x7);
    b2 = ir::all(tmp, cmp(Rel::LinkPl, 2 + sh, 2, a));
    b1 = ir::any(b2, b1);
    return ir::all(b0, b1);
  }

  PredPtr hostop6(const uint8_t* addr, const uint8_t* mask, Dir dir, uint32_t src_off,
                  uint32_t dst_off) {
    uint32_t off;
    switch (dir) {
      case Dir::Src: off = src_off; break;
      case Dir::Dst: off = dst_off; break;
      case Dir::And: {
        PredPtr b0 = hostop6(addr, mask, Dir::Src, src_off, dst_off);
        return ir::all(b0, hostop6(addr, mask, Dir::Dst, src_off, dst_off));
      }
      case Dir::Default:
      case Dir::Or: {
        PredPtr b0 = hostop6(addr, mask, Dir::Src, src_off, dst_off);
        return ir::any(b0, hostop6(addr, mask, Dir::Dst, src_off, dst_off));
      }
      default: return wlan_dir_error(dir);
    }
    auto word = [](const uint8_t* p, size_t i) {
      return uint32_t(p[4 * i]) << 24 | uint32_t(p[4 * i + 1]) << 16 | uint32_t(p[4 * i + 2]) << 8 |
             p[4 * i + 3];
    };
    PredPtr b1 = mcmp(Rel::LinkPl, off + 12, 4, word(addr, 3), word(mask, 3));
    b1 = ir::all(mcmp(Rel::LinkPl, off + 8, 4, word(addr, 2), word(mask, 2)), b1);
    b1 = ir::all(mcmp(Rel::LinkPl, off + 4, 4, word(addr, 1), word(mask, 1)), b1);
    b1 = ir::all(mcmp(Rel::LinkPl, off + 0, 4, word(addr, 0), word(mask, 0)), b1);
    return ir::all(linktype(kEthIp6), b1);
  }

  PredPtr host6(const uint8_t* addr, const uint8_t* mask, Proto p, Dir dir, Addr type) {
    const char* what = type == Addr::Net ? "net" : "host";
    switch (p) {
      case Proto::Default:
      case Proto::Ip6: return hostop6(addr, mask, dir, 8, 24);
      case Proto::Link: return fail(at_, std::string("link-layer modifier applied to ip6 ") + what);
      case Proto::Atalk: return fail(at_, std::string("AppleTalk modifier applied to ip6 ") + what);
      default:
        return fail(at_, std::string("'") + proto_name(p) + "' modifier applied to ip6 " + what);
    }
  }

  PredPtr ehostop(const uint8_t* mac, Dir dir) {
    switch (dir) {
      case Dir::Src: return bcmp(Rel::LinkHdr, 6, mac, 6);
      case Dir::Dst: return bcmp(Rel::LinkHdr, 0, mac, 6);
      case Dir::And: {
        PredPtr b0 = ehostop(mac, Dir::Src);
        return ir::all(b0, ehostop(mac, Dir::Dst));
      }
      case Dir::Default:
      case Dir::Or: {
        PredPtr b0 = ehostop(mac, Dir::Src);
        return ir::any(b0, ehostop(mac, Dir::Dst));
      }
      default: return wlan_dir_error(dir);
    }
  }

  // --- ports ---------------------------------------------------------------
  PredPtr portatom(bool v6, uint32_t off, uint32_t v) {
    return cmp(v6 ? Rel::TranIpv6 : Rel::TranIpv4, off, 2, v);
  }
  PredPtr portrangeatom(bool v6, uint32_t off, uint32_t lo, uint32_t hi) {
    if (lo > hi) std::swap(lo, hi);
    Rel r = v6 ? Rel::TranIpv6 : Rel::TranIpv4;
    PredPtr b1 = cmp_ge(r, off, 2, lo);
    return ir::all(b1, cmp_le(r, off, 2, hi));
  }

  // One transport protocol: the protocol check, then the port test by direction.
  PredPtr portop(bool v6, bool range, uint32_t lo, uint32_t hi, uint32_t ipproto, Dir dir) {
    PredPtr b0;
    if (v6) {
      b0 = cmp(Rel::LinkPl, 6, 1, ipproto);
    } else {
      PredPtr tmp = cmp(Rel::LinkPl, 9, 1, ipproto);
      b0 = ir::all(tmp, ipfrag());
    }
    auto atom = [&](uint32_t off) {
      return range ? portrangeatom(v6, off, lo, hi) : portatom(v6, off, lo);
    };
    PredPtr b1;
    switch (dir) {
      case Dir::Src: b1 = atom(0); break;
      case Dir::Dst: b1 = atom(2); break;
      case Dir::And: {
        PredPtr t = atom(0);
        b1 = ir::all(t, atom(2));
        break;
      }
      case Dir::Default:
      case Dir::Or: {
        PredPtr t = atom(0);
        b1 = ir::any(t, atom(2));
        break;
      }
      default: return wlan_dir_error(dir);
    }
    return ir::all(b0, b1);
  }

  PredPtr port_family(bool v6, bool range, uint32_t lo, uint32_t hi, int ipproto, Dir dir) {
    PredPtr b0 = linktype(v6 ? kEthIp6 : kEthIp);
    PredPtr b1;
    if (ipproto == names::kProtoUndef) {
      PredPtr tmp = portop(v6, range, lo, hi, IPPROTO_TCP, dir);
      b1 = ir::any(tmp, portop(v6, range, lo, hi, IPPROTO_UDP, dir));
      b1 = ir::any(portop(v6, range, lo, hi, IPPROTO_SCTP, dir), b1);
    } else {
      b1 = portop(v6, range, lo, hi, ipproto, dir);
    }
    return ir::all(b0, b1);
  }

  // IPv4 generated first, IPv6 evaluated first: gen_or(gen_port6(), b).
  PredPtr port(bool range, uint32_t lo, uint32_t hi, int ipproto, Dir dir) {
    PredPtr b = port_family(false, range, lo, hi, ipproto, dir);
    PredPtr b6 = port_family(true, range, lo, hi, ipproto, dir);
    return ir::any(b6, b);
  }

  // --- ids: qualifiers applied to a value ----------------------------------
  int port_proto(Proto p, const char* what) {
    switch (p) {
      case Proto::Udp: return IPPROTO_UDP;
      case Proto::Tcp: return IPPROTO_TCP;
      case Proto::Sctp: return IPPROTO_SCTP;
      case Proto::Default: return names::kProtoUndef;
      default:
        fail(at_, std::string("illegal qualifier of '") + what + "'");
        return names::kProtoUndef;
    }
  }

  PredPtr ncode(const Node& n, bool has_text, uint32_t v) {
    const Qual& q = n.qual;
    int vlen = 32;
    if (has_text && q.proto != Proto::Decnet) {
      vlen = names::atoin(n.text, v);
      if (vlen < 0) return fail(n.range, "invalid IPv4 address '" + n.text + "'");
    }
    switch (q.addr) {
      case Addr::Default:
      case Addr::Host:
      case Addr::Net: {
        if (q.proto == Proto::Decnet) {
          if (has_text && !atodn(n.text, v))
            return fail(n.range, "malformed decnet address '" + n.text + "'");
          return host(v, 0, q.proto, q.dir, q.addr);
        }
        if (q.proto == Proto::Link) return fail(n.range, "illegal link layer address");
        uint32_t mask = 0xffffffff;
        if (!has_text && q.addr == Addr::Net) {
          while (v && (v & 0xff000000) == 0) {
            v <<= 8;
            mask <<= 8;
          }
        } else if (vlen < 32) {
          v <<= 32 - vlen;
          mask <<= 32 - vlen;
        }
        return host(v, mask, q.proto, q.dir, q.addr);
      }
      case Addr::Port:
      case Addr::Portrange: {
        bool range = q.addr == Addr::Portrange;
        int ipproto = port_proto(q.proto, range ? "portrange" : "port");
        if (err_) return ir::truth(false);
        if (v > 65535)
          return fail(n.range, "illegal port number " + std::to_string(v) + " > 65535");
        return port(range, v, v, ipproto, q.dir);
      }
      case Addr::Gateway: return fail(n.range, "'gateway' requires a name");
      case Addr::Proto: return proto(v, q.proto, q.dir);
      case Addr::Protochain: return protochain(v, q.proto);
    }
    return fail(n.range, "syntax error");
  }

  std::optional<int> lookup_proto(const std::string& name, Proto p) {
    switch (p) {
      case Proto::Default:
      case Proto::Ip:
      case Proto::Ip6:
        if (auto v = names::ip_protocol(name)) return v;
        fail(at_, "unknown ip proto '" + name + "'");
        return std::nullopt;
      case Proto::Link:
        if (auto v = names::ether_protocol(name)) return v;
        if (auto v = names::llc_protocol(name)) return v;
        fail(at_, "unknown ether proto '" + name + "'");
        return std::nullopt;
      case Proto::Iso:
        if (name == "esis") return kIsoEsis;
        if (name == "isis") return kIsoIsis;
        if (name == "clnp") return kIsoClnp;
        fail(at_, "unknown osi proto '" + name + "'");
        return std::nullopt;
      default: fail(at_, "unknown protocol: " + name); return std::nullopt;
    }
  }

  PredPtr scode(const Node& n) {
    const Qual& q = n.qual;
    switch (q.addr) {
      case Addr::Net:
        return fail(n.range,
                    "unknown network '" + n.text + "': dropfilter does not resolve network names");
      case Addr::Default:
      case Addr::Host:
        if (q.proto == Proto::Link)
          return fail(n.range, "unknown ether host '" + n.text +
                                   "': dropfilter does not resolve host names");
        return fail(n.range, "unknown host '" + n.text +
                                 "': dropfilter does not resolve host names, use an address");
      case Addr::Port: {
        int qp = port_proto(q.proto, "port");
        if (err_) return ir::truth(false);
        auto p = names::service(n.text);
        if (!p) return fail(n.range, "unknown port '" + n.text + "'");
        int real = p->proto;
        if (auto e = check_port_proto(q.proto, real, "port '" + n.text + "'")) return e;
        if (q.proto != Proto::Default) real = qp;
        if (p->port > 65535)
          return fail(n.range, "illegal port number " + std::to_string(p->port) + " > 65535");
        return port(false, p->port, p->port, real, q.dir);
      }
      case Addr::Portrange: {
        int qp = port_proto(q.proto, "portrange");
        if (err_) return ir::truth(false);
        auto r = names::service_range(n.text);
        if (!r) return fail(n.range, "unknown port in range '" + n.text + "'");
        int real = r->second.proto;
        if (auto e = check_port_proto(q.proto, real, "port in range '" + n.text + "'")) return e;
        if (q.proto != Proto::Default) real = qp;
        for (int port_num : {r->first.port, r->second.port}) {
          if (port_num < 0)
            return fail(n.range, "illegal port number " + std::to_string(port_num) + " < 0");
          if (port_num > 65535)
            return fail(n.range, "illegal port number " + std::to_string(port_num) + " > 65535");
        }
        return port(true, r->first.port, r->second.port, real, q.dir);
      }
      case Addr::Gateway:
        return fail(n.range, "'gateway' needs host name resolution, which dropfilter does not do");
      case Addr::Proto: {
        auto v = lookup_proto(n.text, q.proto);
        if (!v) return ir::truth(false);
        return proto(*v, q.proto, q.dir);
      }
      case Addr::Protochain: {
        auto v = lookup_proto(n.text, q.proto);
        if (!v) return ir::truth(false);
        return protochain(*v, q.proto);
      }
    }
    return fail(n.range, "syntax error");
  }

  // `tcp port domain`: the name must not belong to another transport.
  PredPtr check_port_proto(Proto qp, int real, const std::string& what) {
    auto name = [](int p) { return p == IPPROTO_TCP ? "tcp" : p == IPPROTO_UDP ? "udp" : "sctp"; };
    if (qp == Proto::Udp && (real == IPPROTO_TCP || real == IPPROTO_SCTP))
      return fail(at_, what + " is " + name(real));
    if (qp == Proto::Tcp && (real == IPPROTO_UDP || real == IPPROTO_SCTP))
      return fail(at_, what + " is " + name(real));
    if (qp == Proto::Sctp && (real == IPPROTO_UDP || real == IPPROTO_TCP))
      return fail(at_, what + " is " + name(real));
    return nullptr;
  }

  PredPtr mcode(const Node& n) {
    uint32_t net, m;
    int nlen = names::atoin(n.text, net);
    if (nlen < 0) return fail(n.range, "invalid IPv4 address '" + n.text + "'");
    net = nlen >= 32 ? net : net << (32 - nlen);
    if (n.id_kind == IdKind::HidMask) {
      int mlen = names::atoin(n.text2, m);
      if (mlen < 0) return fail(n.range, "invalid IPv4 address '" + n.text2 + "'");
      m = mlen >= 32 ? m : m << (32 - mlen);
      if (net & ~m)
        return fail(n.range, "non-network bits set in \"" + n.text + " mask " + n.text2 + "\"");
    } else {
      if (n.num > 32) return fail(n.range, "mask length must be <= 32");
      m = n.num == 0 ? 0 : 0xffffffffu << (32 - n.num);
      if (net & ~m)
        return fail(n.range,
                    "non-network bits set in \"" + n.text + "/" + std::to_string(n.num) + "\"");
    }
    if (n.qual.addr != Addr::Net) return fail(n.range, "Mask syntax for networks only");
    return host(net, m, n.qual.proto, n.qual.dir, n.qual.addr);
  }

  PredPtr mcode6(const Node& n) {
    uint8_t addr[16], mask[16] = {};
    if (inet_pton(AF_INET6, n.text.c_str(), addr) != 1)
      return fail(n.range, "invalid ip6 address " + n.text);
    uint32_t len = n.id_kind == IdKind::Hid6Len ? n.num : 128;
    if (len > 128) return fail(n.range, "mask length must be <= 128");
    std::memset(mask, 0xff, len / 8);
    if (len % 8) mask[len / 8] = uint8_t(0xff << (8 - len % 8));
    for (int i = 0; i < 16; i++)
      if (addr[i] & ~mask[i])
        return fail(n.range,
                    "non-network bits set in \"" + n.text + "/" + std::to_string(len) + "\"");
    switch (n.qual.addr) {
      case Addr::Default:
      case Addr::Host:
        if (len != 128) return fail(n.range, "Mask syntax for networks only");
        [[fallthrough]];
      case Addr::Net: return host6(addr, mask, n.qual.proto, n.qual.dir, n.qual.addr);
      default: return fail(n.range, "invalid qualifier against IPv6 address");
    }
  }

  PredPtr ecode(const Node& n) {
    const Qual& q = n.qual;
    if (!((q.addr == Addr::Host || q.addr == Addr::Default) && q.proto == Proto::Link))
      return fail(n.range, "ethernet address used in non-ether expression");
    if (linktype_ != Dlt::Ethernet) {
      if (opts_.link_primitives_false) return ir::truth(false);
      return fail(n.range,
                  "ethernet addresses supported only on ethernet/FDDI/token ring/802.11/ATM "
                  "LANE/Fibre Channel");
    }
    uint8_t mac[6];
    if (!parse_mac(n.text, mac)) return fail(n.range, "bogus ethernet address " + n.text);
    PredPtr tmp = prevlinkhdr_check();
    return ir::all(tmp, ehostop(mac, q.dir));
  }

  // pcap_ether_aton(): hex digits in pairs, any of ':' '.' '-' between.
  static bool parse_mac(const std::string& s, uint8_t* out) {
    size_t i = 0, n = 0;
    auto hexv = [](char c) {
      return std::isdigit((unsigned char)c) ? c - '0' : std::tolower(c) - 'a' + 10;
    };
    while (i < s.size() && n < 6) {
      if (s[i] == ':' || s[i] == '.' || s[i] == '-') {
        i++;
        continue;
      }
      int d = hexv(s[i++]);
      if (i < s.size() && std::isxdigit((unsigned char)s[i])) d = d << 4 | hexv(s[i++]);
      out[n++] = uint8_t(d);
    }
    return n == 6;
  }

  PredPtr id(const Node& n) {
    at_ = n.range;
    const Qual& q = n.qual;
    if (q.undef)
      return fail(n.range,
                  "syntax error: an address needs a qualifier such as 'host' or 'port' here");
    switch (n.id_kind) {
      case IdKind::Num: return ncode(n, false, n.num);
      case IdKind::Hid:
        if (q.addr == Addr::Port) return fail(n.range, "'port' modifier applied to ip host");
        if (q.addr == Addr::Portrange)
          return fail(n.range, "'portrange' modifier applied to ip host");
        if (q.addr == Addr::Proto) return fail(n.range, "'proto' modifier applied to ip host");
        if (q.addr == Addr::Protochain)
          return fail(n.range, "'protochain' modifier applied to ip host");
        return ncode(n, true, 0);
      case IdKind::HidLen:
      case IdKind::HidMask: return mcode(n);
      case IdKind::Hid6:
      case IdKind::Hid6Len: return mcode6(n);
      case IdKind::Eid: return ecode(n);
      case IdKind::Aid: return fail(n.range, "ARCnet addresses are supported only on ARCnet");
      case IdKind::Name: return scode(n);
    }
    return fail(n.range, "syntax error");
  }

  // --- protochain ----------------------------------------------------------
  PredPtr protochain(uint32_t v, Proto p) {
    switch (p) {
      case Proto::Default: {
        PredPtr b0 = protochain(v, Proto::Ip);
        return ir::any(b0, protochain(v, Proto::Ip6));
      }
      case Proto::Ip:
      case Proto::Ip6: break;
      default: return fail(at_, "bad protocol applied for 'protochain'");
    }
    if (off_linkpl_.var)
      return fail(at_, "'protochain' not supported with variable length headers");
    bool v6 = p == Proto::Ip6;
    PredPtr b0 = linktype(v6 ? kEthIp6 : kEthIp);
    // Only a target the walk steps through (an extension header, AH) ends
    // it early; every other target shares one walk (ir.h).
    bool steps_through = v == 51 || (v6 && (v == 0 || v == 60 || v == 43 || v == 44));
    uint32_t target = steps_through ? v : ir::kProtoChainAny;
    ValuePtr& last = chains_[{v6, off_linkpl_.k + off_nl_, target}];
    if (!last) last = ir::protochain(v6, off_linkpl_.k + off_nl_, target);
    return ir::all(b0, ir::cmp(CmpOp::Eq, last, v));
  }

  // libpcap compiles these with its optimizer off, for the whole filter.
  static bool uses_unoptimizable(const Node& n) {
    if (n.kind == Node::Kind::Geneve) return true;
    if (n.kind == Node::Kind::Id && n.qual.addr == Addr::Protochain) return true;
    return (n.lhs && uses_unoptimizable(*n.lhs)) || (n.rhs && uses_unoptimizable(*n.rhs));
  }

  // --- geneve --------------------------------------------------------------
  static constexpr uint32_t kGenevePort = 6081, kEthTeb = 0x6558;

  PredPtr geneve_check(bool v6, const Node& n) {
    Rel tran = v6 ? Rel::TranIpv6 : Rel::TranIpv4;
    PredPtr b0 = port_family(v6, false, kGenevePort, kGenevePort, IPPROTO_UDP, Dir::Dst);
    b0 = ir::all(b0, mcmp(tran, 8, 1, 0, 0xc0));
    if (n.has_num) {
      if (n.num > 0xffffff)
        return fail(n.range,
                    "Geneve VNI " + std::to_string(n.num) + " greater than maximum 16777215");
      b0 = ir::all(b0, mcmp(tran, 12, 4, n.num << 8, 0xffffff00));
    }
    return b0;
  }

  // The value telling IPv4 from IPv6 at the current link layer, as the
  // link-type check reads it, and what it is for IPv4.
  std::pair<ValuePtr, uint32_t> ipv4_discriminator() {
    if (label_stack_depth_ > 0 || linktype_ == Dlt::Raw) {
      Rel r = linktype_ == Dlt::Raw && label_stack_depth_ == 0 ? Rel::LinkHdr : Rel::LinkPl;
      return {ir::binary(ArithOp::And, load_at(r, 0, 1), ir::konst(0xf0)), 0x40};
    }
    return {load_at(Rel::LinkType, 0, 2), linktype_ == Dlt::Ppp ? 0x0021u : kEthIp};
  }

  PredPtr geneve(const Node& n) {
    if (registers_held_ + 3 > kMemWords) return too_many_registers(n);
    registers_held_ += 3;
    PredPtr g4 = geneve_check(false, n);
    ValuePtr hl = iphdrlen();
    g4 = ir::all(g4, ir::cmp(CmpOp::Eq, hl, hl));  // libpcap's `A == X` block: loads the IHL
    PredPtr b1 = ir::any(g4, geneve_check(true, n));
    // Where the transport header is on the path that matched.
    auto [disc, v4] = ipv4_discriminator();
    ValuePtr forty = off_linkpl_.var ? add(ir::konst(40), off_linkpl_.var) : ir::konst(40);
    ValuePtr tran = ir::select_eq(disc, ir::konst(v4), hl, forty);
    ValuePtr g = add(tran, ir::konst(off_linkpl_.k + off_nl_ + 8));
    ValuePtr optlen = ir::load(g, 0, 1);
    ValuePtr inner =
        add(add(ir::binary(ArithOp::Mul, ir::binary(ArithOp::And, optlen, ir::konst(0x3f)),
                           ir::konst(4)),
                ir::konst(8)),
            g);
    ValuePtr proto = ir::load(g, 2, 2);
    // libpcap loads the option length and the protocol here, once.
    ValuePtr both = add(optlen, proto);
    PredPtr offsets = ir::cmp(CmpOp::Eq, both, both);
    prevlinktype_ = linktype_;
    off_prevlinkhdr_ = off_linkhdr_;
    linktype_ = Dlt::Ethernet;
    off_linkhdr_ = {inner, 0, true};
    off_linktype_ = {
        ir::select_eq(proto, ir::konst(kEthTeb), add(inner, ir::konst(12)), add(g, ir::konst(2))),
        0, true};
    off_linkpl_ = {ir::select_eq(proto, ir::konst(kEthTeb), add(inner, ir::konst(14)), inner), 0,
                   true};
    off_nl_ = 0;
    is_geneve_ = true;
    return ir::all(b1, offsets);
  }

  // libpcap's gen_prevlinkhdr_check(): inside Geneve, link-layer addresses
  // exist only when the payload is Ethernet.
  PredPtr prevlinkhdr_check() {
    if (!is_geneve_) return nullptr;
    return ir::negate(ir::cmp(CmpOp::Eq, off_linkhdr_.var, off_linkpl_.var));
  }

  // --- arithmetic ----------------------------------------------------------
  Operand arith(const Arith& a) {
    switch (a.kind) {
      case Arith::Kind::Num: return {ir::konst(a.num), nullptr, a.num};
      case Arith::Kind::Len: return {ir::wire_len(), nullptr, std::nullopt};
      case Arith::Kind::Neg: {
        Operand x = arith(*a.lhs);
        std::optional<uint32_t> k;
        if (x.konst) k = 0u - *x.konst;
        return {ir::neg(x.v, true), x.checks, k};
      }
      case Arith::Kind::Binary: return binary(a);
      case Arith::Kind::Load: return accessor(a);
    }
    return {};
  }

  Operand binary(const Arith& a) {
    Operand l = arith(*a.lhs);
    Operand r = arith(*a.rhs);
    ArithOp op = a.op;
    // Refused at compile time, as libpcap's code generator does when the
    // first instruction computing the right operand loads a bad constant
    // (`x / ether[0]` too: its index loads #0 first); folded constants are
    // refused by libpcap's optimizer, only where the code survives.
    std::optional<uint32_t> first = first_constant(*a.rhs);
    bool shift = op == ArithOp::Lsh || op == ArithOp::Rsh;
    auto bad = [&](std::optional<uint32_t> k) -> const char* {
      if (!k) return nullptr;
      if (op == ArithOp::Div && *k == 0) return "division by zero";
      if (op == ArithOp::Mod && *k == 0) return "modulus by zero";
      if (shift && *k > 31) return "shift by more than 31 bits";
      return nullptr;
    };
    if (const char* m = bad(first)) fail(a.rhs->range, m);
    // The optimizer folds a shift of a constant by any amount without a
    // word; it refuses only a constant amount > 31 applied to a non-constant.
    const char* folded_error = no_optimize_ || (shift && l.konst) ? nullptr : bad(r.konst);
    // libpcap keeps only the left operand's protocol checks (gen_arth).
    Operand out{ir::binary(op, l.v, r.v, true), l.checks, std::nullopt};
    if (folded_error) {
      auto v = std::make_shared<ir::Value>(*out.v);
      v->deferred = std::make_shared<Diagnostic>(Diagnostic{a.rhs->range, folded_error});
      out.v = v;
    }
    if (no_optimize_) return out;
    if (l.konst && r.konst) {  // what the optimizer's second phase folds to
      uint32_t x = *l.konst, y = *r.konst, z = 0;
      switch (op) {
        case ArithOp::Add: z = x + y; break;
        case ArithOp::Sub: z = x - y; break;
        case ArithOp::Mul: z = x * y; break;
        case ArithOp::Div: z = y ? x / y : 0; break;
        case ArithOp::Mod: z = y ? x % y : 0; break;
        case ArithOp::And: z = x & y; break;
        case ArithOp::Or: z = x | y; break;
        case ArithOp::Xor: z = x ^ y; break;
        case ArithOp::Lsh: z = y < 32 ? x << y : 0; break;
        case ArithOp::Rsh: z = y < 32 ? x >> y : 0; break;
      }
      out.konst = z;
      return out;
    }
    // The optimizer's second phase turns 0 op X into 0 for these operators,
    // and the computation of X dies with its loads.
    if (l.konst && *l.konst == 0 &&
        (op == ArithOp::Mul || op == ArithOp::Div || op == ArithOp::Mod || op == ArithOp::And ||
         op == ArithOp::Lsh || op == ArithOp::Rsh)) {
      out.v = ir::late_konst(0);
      out.konst = 0;
    }
    return out;
  }

  // The constant loaded by the first instruction that computes `a`, if any.
  static std::optional<uint32_t> first_constant(const Arith& a) {
    switch (a.kind) {
      case Arith::Kind::Num: return a.num;
      case Arith::Kind::Len: return std::nullopt;
      case Arith::Kind::Neg:
      case Arith::Kind::Binary:
      case Arith::Kind::Load: return first_constant(*a.lhs);
    }
    return std::nullopt;
  }

  Operand accessor(const Arith& a) {
    Operand idx = arith(*a.lhs);
    at_ = a.range;
    if (a.size != 1 && a.size != 2 && a.size != 4) {
      fail(a.size_range.end ? a.size_range : a.range, "data size must be 1, 2, or 4");
      return idx;
    }
    uint8_t size = uint8_t(a.size);
    Operand out{nullptr, idx.checks, std::nullopt};
    switch (a.proto) {
      case Proto::Radio: fail(a.range, "radio information not present in capture"); return out;
      case Proto::Link: {
        ValuePtr x = off_linkhdr_.var ? add(off_linkhdr_.var, idx.v) : idx.v;
        out.v = ir::load(x, off_linkhdr_.k, size);
        return out;
      }
      case Proto::Ip:
      case Proto::Arp:
      case Proto::Rarp:
      case Proto::Atalk:
      case Proto::Decnet:
      case Proto::Sca:
      case Proto::Lat:
      case Proto::Moprc:
      case Proto::Mopdl:
      case Proto::Ip6: {
        ValuePtr x = off_linkpl_.var ? add(off_linkpl_.var, idx.v) : idx.v;
        out.v = ir::load(x, off_linkpl_.k + off_nl_, size);
        out.checks = ir::all(idx.checks, proto_abbrev(a.proto));
        return out;
      }
      case Proto::Sctp:
      case Proto::Tcp:
      case Proto::Udp:
      case Proto::Icmp:
      case Proto::Igmp:
      case Proto::Igrp:
      case Proto::Pim:
      case Proto::Vrrp:
      case Proto::Carp: {
        ValuePtr x = add(idx.v, iphdrlen());
        out.v = ir::load(x, off_linkpl_.k + off_nl_, size);
        PredPtr b = ir::all(proto_abbrev(a.proto), ipfrag());
        b = ir::all(idx.checks, b);
        out.checks = ir::all(proto_abbrev(Proto::Ip), b);
        return out;
      }
      case Proto::Icmp6: {
        PredPtr b = ir::all(idx.checks, proto_abbrev(Proto::Ip6));
        out.checks = ir::all(b, cmp(Rel::LinkPl, 6, 1, IPPROTO_ICMPV6));
        ValuePtr x = off_linkpl_.var ? add(off_linkpl_.var, idx.v) : idx.v;
        out.v = ir::load(x, off_linkpl_.k + off_nl_ + 40, size);
        return out;
      }
      default: fail(a.range, "unsupported index operation"); return out;
    }
  }

  // libpcap's scratch memory (gencode.c alloc_reg): BPF_MEMWORDS words, each
  // geneve holding 3 for the rest of the expression (its link header, link
  // type and payload offsets), and arithmetic holding one per value it has
  // computed and not yet combined: a load takes its register before it
  // frees its index's. Past 16 libpcap refuses the expression.
  static constexpr uint32_t kMemWords = 16;

  static uint32_t registers(const Arith& a) {
    switch (a.kind) {
      case Arith::Kind::Num:
      case Arith::Kind::Len: return 1;
      case Arith::Kind::Neg: return registers(*a.lhs);
      case Arith::Kind::Load: return std::max<uint32_t>(registers(*a.lhs), 2);
      case Arith::Kind::Binary: return std::max(registers(*a.lhs), 1 + registers(*a.rhs));
    }
    return 1;
  }

  PredPtr too_many_registers(const Node& n) {
    return fail(n.range, "too many registers needed to evaluate expression");
  }

  PredPtr relation(const Node& n) {
    if (registers_held_ + std::max(registers(*n.a), 1 + registers(*n.b)) > kMemWords)
      return too_many_registers(n);
    Operand a = arith(*n.a);
    Operand b = arith(*n.b);
    CmpOp op = n.rel == RelOp::Gt ? CmpOp::Gt : n.rel == RelOp::Ge ? CmpOp::Ge : CmpOp::Eq;
    PredPtr c = ir::cmp(op, a.v, b.v);
    if (n.reversed) c = ir::negate(c);
    PredPtr checks = a.checks ? ir::all(a.checks, b.checks) : b.checks;
    return ir::all(checks, c);
  }

  // --- other primitives ----------------------------------------------------
  PredPtr broadcast(const Node& n) {
    static const uint8_t kBroadcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    switch (n.proto) {
      case Proto::Default:
      case Proto::Link:
        if (linktype_ != Dlt::Ethernet) {
          if (opts_.link_primitives_false) return ir::truth(false);
          return fail(n.range, "not a broadcast link");
        }
        return ir::all(prevlinkhdr_check(), ehostop(kBroadcast, Dir::Dst));
      case Proto::Ip: {
        if (opts_.netmask == 0xffffffff)
          return fail(n.range, "netmask not known, so 'ip broadcast' not supported");
        PredPtr b0 = linktype(kEthIp);
        uint32_t hostmask = ~opts_.netmask;
        PredPtr b1 = mcmp(Rel::LinkPl, 16, 4, 0, hostmask);
        PredPtr b2 = ir::any(b1, mcmp(Rel::LinkPl, 16, 4, ~0u & hostmask, hostmask));
        return ir::all(b0, b2);
      }
      default: return fail(n.range, "only link-layer/IP broadcast filters supported");
    }
  }

  PredPtr multicast(const Node& n) {
    switch (n.proto) {
      case Proto::Default:
      case Proto::Link:
        if (linktype_ != Dlt::Ethernet) break;
        return ir::all(prevlinkhdr_check(), jset(Rel::LinkHdr, 0, 1, 1));
      case Proto::Ip: {
        PredPtr b0 = linktype(kEthIp);
        return ir::all(b0, cmp_ge(Rel::LinkPl, 16, 1, 224));
      }
      case Proto::Ip6: {
        PredPtr b0 = linktype(kEthIp6);
        return ir::all(b0, cmp(Rel::LinkPl, 24, 1, 255));
      }
      default: break;
    }
    if (opts_.link_primitives_false) return ir::truth(false);
    return fail(n.range,
                "link-layer multicast filters supported only on ethernet/FDDI/token "
                "ring/ARCNET/802.11/ATM LANE/Fibre Channel");
  }

  PredPtr vlan(const Node& n) {
    if (label_stack_depth_ > 0) return fail(n.range, "no VLAN match after MPLS");
    if (linktype_ != Dlt::Ethernet) {
      if (opts_.link_primitives_false) return ir::truth(false);
      return fail(n.range, std::string("no VLAN support for ") + link_description());
    }
    PredPtr b0 = linktype(kEth8021Q);
    b0 = ir::any(b0, linktype(kEth8021AD));
    b0 = ir::any(b0, linktype(kEthQinQ));
    if (n.has_num) {
      if (n.num > 0x0fff)
        return fail(n.range, "VLAN tag " + std::to_string(n.num) + " greater than maximum 4095");
      b0 = ir::all(b0, mcmp(Rel::LinkPl, 0, 2, n.num, 0x0fff));
    }
    off_linkpl_.k += 4;
    off_linktype_.k += 4;
    vlan_stack_depth_++;
    return b0;
  }

  PredPtr mpls(const Node& n) {
    PredPtr b0;
    if (label_stack_depth_ > 0) {
      b0 = mcmp(Rel::PrevMplsHdr, 2, 1, 0, 0x01);
    } else if (linktype_ == Dlt::Ethernet) {
      b0 = linktype(kEthMpls);
    } else if (linktype_ == Dlt::Ppp) {
      b0 = linktype(kPppMplsUcast);
    } else {
      if (opts_.link_primitives_false) return ir::truth(false);
      return fail(n.range, std::string("no MPLS support for ") + link_description());
    }
    if (n.has_num) {
      if (n.num > 0xfffff)
        return fail(n.range,
                    "MPLS label " + std::to_string(n.num) + " greater than maximum 1048575");
      b0 = ir::all(b0, mcmp(Rel::LinkPl, 0, 4, n.num << 12, 0xfffff000));
    }
    off_nl_nosnap_ += 4;
    off_nl_ += 4;
    label_stack_depth_++;
    return b0;
  }

  PredPtr pppoes(const Node& n) {
    PredPtr b0 = linktype(kEthPppoeS);
    if (n.has_num) {
      if (n.num > 0xffff)
        return fail(n.range, "PPPoE session number " + std::to_string(n.num) +
                                 " greater than maximum 65535");
      b0 = ir::all(b0, mcmp(Rel::LinkPl, 0, 4, n.num, 0x0000ffff));
    }
    // From here on the link layer is the PPP header inside the session.
    prevlinktype_ = linktype_;
    off_prevlinkhdr_ = off_linkhdr_;
    linktype_ = Dlt::Ppp;
    off_linkhdr_ = {off_linkpl_.var, off_linkpl_.k + off_nl_ + 6, true};
    off_linktype_ = off_linkhdr_;
    off_linkpl_.k = off_linkhdr_.k + 2;
    off_nl_ = 0;
    off_nl_nosnap_ = 0;
    return b0;
  }

  PredPtr llc(const Node& n) {
    if (linktype_ != Dlt::Ethernet) {
      if (opts_.link_primitives_false) return ir::truth(false);
      return fail(n.range, std::string("'llc' not supported for ") + link_description());
    }
    auto llc_base = [&] {
      PredPtr b0 = not_8023();
      return ir::all(b0, ir::negate(cmp(Rel::Llc, 0, 2, 0xffff)));
    };
    if (n.text.empty()) return llc_base();
    std::string t = n.text;
    for (char& c : t) c = char(std::tolower((unsigned char)c));
    if (t == "i") return ir::all(llc_base(), ir::negate(jset(Rel::Llc, 2, 1, 0x01)));
    if (t == "s") return ir::all(llc_base(), mcmp(Rel::Llc, 2, 1, 0x01, 0x03));
    if (t == "u") return ir::all(llc_base(), mcmp(Rel::Llc, 2, 1, 0x03, 0x03));
    static const std::pair<const char*, uint32_t> kS[] = {
        {"rr", 0x01}, {"rnr", 0x05}, {"rej", 0x09}};
    static const std::pair<const char*, uint32_t> kU[] = {
        {"ui", 0x03},    {"ua", 0x63},   {"disc", 0x43}, {"dm", 0x0f},
        {"sabme", 0x6f}, {"test", 0xe3}, {"xid", 0xaf},  {"frmr", 0x87}};
    for (auto [name, v] : kS)
      if (t == name) return ir::all(llc_base(), mcmp(Rel::Llc, 2, 1, v, 0x0f));
    for (auto [name, v] : kU)
      if (t == name) return ir::all(llc_base(), mcmp(Rel::Llc, 2, 1, v, 0xef));
    return fail(n.range, "unknown LLC type name \"" + n.text + "\"");
  }

  PredPtr byte(const Node& n) {
    switch (n.byte_op) {
      case '=': return cmp(Rel::LinkHdr, n.byte_index, 1, n.num);
      case '<': return cmp_lt(Rel::LinkHdr, n.byte_index, 1, n.num);
      case '>': return cmp_gt(Rel::LinkHdr, n.byte_index, 1, n.num);
      default: {
        // libpcap 1.10 tests (byte op value) != value without loading the
        // byte; we load it, as later libpcap does. See docs/filter-language.md.
        ValuePtr x = load_at(Rel::LinkHdr, n.byte_index, 1);
        x = ir::binary(n.byte_op == '&' ? ArithOp::And : ArithOp::Or, x, ir::konst(n.num));
        return ir::negate(ir::cmp(CmpOp::Eq, x, n.num));
      }
    }
  }

  PredPtr node(const Node& n) {
    at_ = n.range;
    switch (n.kind) {
      case Node::Kind::And: {
        PredPtr l = node(*n.lhs);
        return ir::all(l, node(*n.rhs));
      }
      case Node::Kind::Or: {
        PredPtr l = node(*n.lhs);
        return ir::any(l, node(*n.rhs));
      }
      case Node::Kind::Not: return ir::negate(node(*n.lhs));
      case Node::Kind::Id: return id(n);
      case Node::Kind::Pname: return proto_abbrev(n.proto);
      case Node::Kind::Relation: return relation(n);
      case Node::Kind::Broadcast: return broadcast(n);
      case Node::Kind::Multicast: return multicast(n);
      case Node::Kind::Less: return ir::negate(ir::cmp(CmpOp::Gt, ir::wire_len(), n.num));
      case Node::Kind::Greater: return ir::cmp(CmpOp::Ge, ir::wire_len(), n.num);
      case Node::Kind::Byte: return byte(n);
      case Node::Kind::Vlan: return vlan(n);
      case Node::Kind::Mpls: return mpls(n);
      case Node::Kind::Pppoed: return linktype(kEthPppoeD);
      case Node::Kind::Pppoes: return pppoes(n);
      case Node::Kind::Geneve: return geneve(n);
      case Node::Kind::Llc: return llc(n);
      case Node::Kind::Unsupported: return fail(n.range, n.message);
      case Node::Kind::Inbound:
      case Node::Kind::Outbound: {
        if (opts_.savefile)
          return fail(n.range, std::string("inbound/outbound not supported on ") +
                                   link_description() + " when reading savefiles");
        // Linux's packet type, read through a BPF ancillary load (SKF_AD_OFF
        // + SKF_AD_PKTTYPE): no such bytes in a saved packet, so libpcap's
        // filter rejects every packet of a file, and so do we.
        PredPtr out = ir::cmp(CmpOp::Eq, ir::load(nullptr, 0xfffff004, 2), 4);
        return n.kind == Node::Kind::Outbound ? out : ir::negate(out);
      }
      case Node::Kind::Ifindex:
        if (opts_.savefile)
          return fail(n.range, std::string("ifindex not supported on ") + link_description() +
                                   " when reading savefiles");
        return ir::cmp(CmpOp::Eq, ir::load(nullptr, 0xfffff008, 4), n.num);
    }
    return fail(n.range, "syntax error");
  }

  LowerOptions opts_;
  std::optional<Diagnostic> err_;
  // protochain walks by (IPv6, network offset, target): one value each
  std::map<std::tuple<bool, uint32_t, uint32_t>, ValuePtr> chains_;
  Dlt linktype_, prevlinktype_;
  Offset off_linkhdr_, off_prevlinkhdr_, off_linktype_, off_linkpl_;
  uint32_t off_nl_ = 0, off_nl_nosnap_ = 0;
  int label_stack_depth_ = 0, vlan_stack_depth_ = 0;
  bool is_geneve_ = false, no_optimize_ = false;
  uint32_t registers_held_ = 0;  // by the geneves so far
};

}  // namespace

Expected<Lowered> lower(const Node* root, const LowerOptions& opts) {
  return Lowering(opts).run(root);
}

}  // namespace dw::filter
