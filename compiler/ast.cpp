#include "compiler/ast.h"

namespace dw::filter {
namespace {

const char* dir_name(Dir d) {
  switch (d) {
    case Dir::Default: return "";
    case Dir::Src: return "src";
    case Dir::Dst: return "dst";
    case Dir::Or: return "src-or-dst";
    case Dir::And: return "src-and-dst";
    case Dir::Addr1: return "addr1";
    case Dir::Addr2: return "addr2";
    case Dir::Addr3: return "addr3";
    case Dir::Addr4: return "addr4";
    case Dir::Ra: return "ra";
    case Dir::Ta: return "ta";
  }
  return "?";
}

const char* addr_name(Addr a) {
  switch (a) {
    case Addr::Default: return "";
    case Addr::Host: return "host";
    case Addr::Net: return "net";
    case Addr::Port: return "port";
    case Addr::Portrange: return "portrange";
    case Addr::Gateway: return "gateway";
    case Addr::Proto: return "proto";
    case Addr::Protochain: return "protochain";
  }
  return "?";
}

std::string qual_text(const Qual& q) {
  if (q.undef) return "<none>";
  std::string s;
  for (const char* part : {proto_name(q.proto), dir_name(q.dir), addr_name(q.addr)}) {
    if (!*part) continue;
    if (!s.empty()) s += ' ';
    s += part;
  }
  return s.empty() ? "<default>" : s;
}

}  // namespace

const char* arith_op_text(ArithOp op) {
  switch (op) {
    case ArithOp::Add: return "+";
    case ArithOp::Sub: return "-";
    case ArithOp::Mul: return "*";
    case ArithOp::Div: return "/";
    case ArithOp::Mod: return "%";
    case ArithOp::And: return "&";
    case ArithOp::Or: return "|";
    case ArithOp::Xor: return "^";
    case ArithOp::Lsh: return "<<";
    case ArithOp::Rsh: return ">>";
  }
  return "?";
}

std::string dump(const Arith& a) {
  switch (a.kind) {
    case Arith::Kind::Num: return std::to_string(a.num);
    case Arith::Kind::Len: return "len";
    case Arith::Kind::Neg: return "(- " + dump(*a.lhs) + ")";
    case Arith::Kind::Binary:
      return std::string("(") + arith_op_text(a.op) + " " + dump(*a.lhs) + " " + dump(*a.rhs) + ")";
    case Arith::Kind::Load:
      return std::string(proto_name(a.proto)) + "[" + dump(*a.lhs) + ":" + std::to_string(a.size) +
             "]";
  }
  return "?";
}

std::string dump(const Node& n) {
  switch (n.kind) {
    case Node::Kind::And: return "(and " + dump(*n.lhs) + " " + dump(*n.rhs) + ")";
    case Node::Kind::Or: return "(or " + dump(*n.lhs) + " " + dump(*n.rhs) + ")";
    case Node::Kind::Not: return "(not " + dump(*n.lhs) + ")";
    case Node::Kind::Id: {
      std::string v = n.id_kind == IdKind::Num ? std::to_string(n.num) : n.text;
      if (n.id_kind == IdKind::HidLen || n.id_kind == IdKind::Hid6Len)
        v += "/" + std::to_string(n.num);
      if (n.id_kind == IdKind::HidMask) v += " mask " + n.text2;
      return "(" + qual_text(n.qual) + " " + v + ")";
    }
    case Node::Kind::Pname: return proto_name(n.proto);
    case Node::Kind::Relation: {
      const char* op = n.rel == RelOp::Gt   ? (n.reversed ? "<=" : ">")
                       : n.rel == RelOp::Ge ? (n.reversed ? "<" : ">=")
                                            : (n.reversed ? "!=" : "=");
      return std::string("(") + op + " " + dump(*n.a) + " " + dump(*n.b) + ")";
    }
    case Node::Kind::Broadcast:
    case Node::Kind::Multicast: {
      std::string p = proto_name(n.proto);
      return (p.empty() ? "" : p + " ") +
             (n.kind == Node::Kind::Broadcast ? "broadcast" : "multicast");
    }
    case Node::Kind::Less: return "(less " + std::to_string(n.num) + ")";
    case Node::Kind::Greater: return "(greater " + std::to_string(n.num) + ")";
    case Node::Kind::Byte:
      return "(byte " + std::to_string(n.byte_index) + " " + n.byte_op + " " +
             std::to_string(n.num) + ")";
    case Node::Kind::Vlan:
    case Node::Kind::Mpls:
    case Node::Kind::Pppoes:
    case Node::Kind::Geneve:
    case Node::Kind::Pppoed: {
      const char* name = n.kind == Node::Kind::Vlan     ? "vlan"
                         : n.kind == Node::Kind::Mpls   ? "mpls"
                         : n.kind == Node::Kind::Pppoes ? "pppoes"
                         : n.kind == Node::Kind::Geneve ? "geneve"
                                                        : "pppoed";
      return n.has_num ? "(" + std::string(name) + " " + std::to_string(n.num) + ")" : name;
    }
    case Node::Kind::Llc: return n.text.empty() ? "llc" : "(llc " + n.text + ")";
    case Node::Kind::Unsupported: return "(unsupported " + n.message + ")";
    case Node::Kind::Inbound: return "inbound";
    case Node::Kind::Outbound: return "outbound";
    case Node::Kind::Ifindex: return "(ifindex " + std::to_string(n.num) + ")";
  }
  return "?";
}

}  // namespace dw::filter
