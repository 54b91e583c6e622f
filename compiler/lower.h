// AST -> IR with libpcap 1.10's semantics for the Ethernet and raw-IP link
// types: the same checks, in the same order, at the same offsets, so loads
// past the capture reject exactly where libpcap's do. Stateful primitives
// (vlan, mpls, pppoes) shift the offsets of everything after them in the
// text, as in libpcap.
#pragma once

#include "common/link_type.h"
#include "compiler/ast.h"
#include "compiler/ir.h"

namespace dw::filter {

using dw::LinkType;

struct LowerOptions {
  LinkType link = LinkType::Ethernet;
  // `ip broadcast` needs the capture's netmask; tcpdump -r has none (0).
  uint32_t netmask = 0;
  // Compile as for a saved file (tcpdump -r): packet direction and interface
  // index are not in a saved packet, so inbound, outbound and ifindex are
  // refused, as libpcap refuses them for savefiles.
  bool savefile = true;
  // dropwatch's network-level entry: packets without a link header, where
  // link-level primitives (ether host, broadcast, vlan, mpls, llc) are false
  // instead of errors.
  bool link_primitives_false = false;
};

struct Lowered {
  ir::PredPtr pred;
  // False when the expression uses protochain or geneve: libpcap then turns
  // its optimizer off for the whole filter, and so must we (stages 4-5).
  bool optimize = true;
};

// `root` may be null (the empty expression): accepts every packet.
Expected<Lowered> lower(const Node* root, const LowerOptions& opts);

}  // namespace dw::filter
