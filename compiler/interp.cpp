#include "compiler/interp.h"

#include <unordered_map>

namespace dw::filter {
namespace {

struct Reject {};  // a load past the capture, or a division by zero

class Interp {
 public:
  Interp(std::span<const uint8_t> pkt, uint32_t wire) : pkt_(pkt), wire_(wire) {}

  // A packet's values are computed once each: the offsets after geneve are
  // shared graphs, exponential as trees.
  uint32_t value(const ir::Value& v) {
    if (v.kind == ir::Value::Kind::Const) return v.k;
    if (auto it = memo_.find(&v); it != memo_.end()) return it->second;
    uint32_t x = compute(v);
    memo_.emplace(&v, x);
    return x;
  }

  uint32_t compute(const ir::Value& v) {
    switch (v.kind) {
      case ir::Value::Kind::Const: return v.k;
      case ir::Value::Kind::Len: return wire_;
      case ir::Value::Kind::Neg: return 0u - value(*v.a);
      case ir::Value::Kind::Load: {
        uint64_t off = uint64_t(v.a ? value(*v.a) : 0) + v.k;
        if (off + v.size > pkt_.size()) throw Reject{};
        uint32_t x = 0;
        for (int i = 0; i < v.size; i++) x = x << 8 | pkt_[off + i];
        return x;
      }
      case ir::Value::Kind::SelectEq: return value(*v.a) == value(*v.b) ? value(*v.c) : value(*v.d);
      case ir::Value::Kind::ProtoChain: return protochain(v);
      case ir::Value::Kind::Binary: {
        uint32_t a = value(*v.a), b = value(*v.b);
        switch (v.op) {
          case ArithOp::Add: return a + b;
          case ArithOp::Sub: return a - b;
          case ArithOp::Mul: return a * b;
          case ArithOp::Div:
            if (!b) throw Reject{};
            return a / b;
          case ArithOp::Mod:
            if (!b) throw Reject{};
            return a % b;
          case ArithOp::And: return a & b;
          case ArithOp::Or: return a | b;
          case ArithOp::Xor: return a ^ b;
          case ArithOp::Lsh: return b < 32 ? a << b : 0;
          case ArithOp::Rsh: return b < 32 ? a >> b : 0;
        }
      }
    }
    return 0;
  }

  bool test(const Dag::Node& n) {
    uint32_t a = value(*n.a), b = value(*n.b);
    switch (n.op) {
      case ir::CmpOp::Eq: return a == b;
      case ir::CmpOp::Gt: return a > b;
      case ir::CmpOp::Ge: return a >= b;
      case ir::CmpOp::Set: return (a & b) != 0;
    }
    return false;
  }

  uint32_t byte(uint32_t x, uint32_t k) {
    uint64_t off = uint64_t(x) + k;
    if (off + 1 > pkt_.size()) throw Reject{};
    return pkt_[off];
  }

  // libpcap 1.10's gen_protochain() loop, step for step (see ir.h).
  uint32_t protochain(const ir::Value& v) {
    uint32_t a, x;
    if (v.ip6) {
      a = byte(0, v.k + 6);
      x = 40;
    } else {
      a = byte(0, v.k + 9);
      x = (byte(0, v.k) & 0xf) << 2;
    }
    for (int step = 0; step < ir::kProtoChainSteps; step++) {
      if (a == v.target || a == 59) break;
      if (v.ip6 && (a == 0 || a == 60 || a == 43 || a == 44)) {
        uint32_t next = byte(x, v.k);
        x = (byte(x, v.k + 1) + 1) * 8 + x;
        a = next;
        continue;
      }
      if (a != 51) break;
      uint32_t next = byte(x, v.k);
      x = (byte(x + 1, v.k) + 2) * 4;  // libpcap 1.10 drops the offset so far
      a = next;
    }
    return a;
  }

 private:
  std::span<const uint8_t> pkt_;
  uint32_t wire_;
  std::unordered_map<const ir::Value*, uint32_t> memo_;
};

}  // namespace

bool interpret(const Dag& d, std::span<const uint8_t> pkt, uint32_t wire_len) {
  Interp in(pkt, wire_len);
  int n = d.root;
  try {
    for (const auto& v : d.prelude) (void)in.value(*v);
    while (!d.leaf(n)) n = in.test(d.nodes[n]) ? d.nodes[n].t : d.nodes[n].f;
  } catch (const Reject&) {
    return false;
  }
  return n == Dag::kAccept;
}

}  // namespace dw::filter
