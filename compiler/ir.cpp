#include "compiler/ir.h"

#include <cstdio>

namespace dw::filter::ir {

ValuePtr konst(uint32_t v) {
  auto n = std::make_shared<Value>();
  n->kind = Value::Kind::Const;
  n->k = v;
  return n;
}

ValuePtr load(ValuePtr base, uint32_t k, uint8_t size) {
  auto n = std::make_shared<Value>();
  n->kind = Value::Kind::Load;
  n->a = std::move(base);
  n->k = k;
  n->size = size;
  return n;
}

ValuePtr late_konst(uint32_t v) {
  auto n = std::make_shared<Value>();
  n->kind = Value::Kind::Const;
  n->k = v;
  n->late = true;
  return n;
}

ValuePtr binary(ArithOp op, ValuePtr a, ValuePtr b, bool late) {
  auto n = std::make_shared<Value>();
  n->kind = Value::Kind::Binary;
  n->late = late;
  n->op = op;
  n->a = std::move(a);
  n->b = std::move(b);
  return n;
}

ValuePtr neg(ValuePtr a, bool late) {
  auto n = std::make_shared<Value>();
  n->kind = Value::Kind::Neg;
  n->late = late;
  n->a = std::move(a);
  return n;
}

ValuePtr wire_len() {
  auto n = std::make_shared<Value>();
  n->kind = Value::Kind::Len;
  return n;
}

ValuePtr protochain(bool ip6, uint32_t net, uint32_t target) {
  auto n = std::make_shared<Value>();
  n->kind = Value::Kind::ProtoChain;
  n->ip6 = ip6;
  n->k = net;
  n->target = target;
  return n;
}

ValuePtr select_eq(ValuePtr a, ValuePtr b, ValuePtr then, ValuePtr otherwise) {
  auto n = std::make_shared<Value>();
  n->kind = Value::Kind::SelectEq;
  n->a = std::move(a);
  n->b = std::move(b);
  n->c = std::move(then);
  n->d = std::move(otherwise);
  return n;
}

PredPtr truth(bool v) {
  auto n = std::make_shared<Pred>();
  n->kind = v ? Pred::Kind::True : Pred::Kind::False;
  return n;
}

PredPtr cmp(CmpOp op, ValuePtr a, ValuePtr b) {
  auto n = std::make_shared<Pred>();
  n->kind = Pred::Kind::Cmp;
  n->op = op;
  n->a = std::move(a);
  n->b = std::move(b);
  return n;
}

PredPtr cmp(CmpOp op, ValuePtr a, uint32_t k) { return cmp(op, std::move(a), konst(k)); }

PredPtr all(PredPtr l, PredPtr r) {
  if (!l) return r;
  if (!r) return l;
  auto n = std::make_shared<Pred>();
  n->kind = Pred::Kind::And;
  n->l = std::move(l);
  n->r = std::move(r);
  return n;
}

PredPtr any(PredPtr l, PredPtr r) {
  auto n = std::make_shared<Pred>();
  n->kind = Pred::Kind::Or;
  n->l = std::move(l);
  n->r = std::move(r);
  return n;
}

PredPtr negate(PredPtr p) {
  auto n = std::make_shared<Pred>();
  n->kind = Pred::Kind::Not;
  n->l = std::move(p);
  return n;
}

namespace {

std::string hex(uint32_t v) {
  char b[16];
  std::snprintf(b, sizeof(b), v < 10 ? "%u" : "0x%x", v);
  return b;
}

void print_pred(const Pred& p, int depth, std::string& out) {
  std::string pad(depth * 2, ' ');
  switch (p.kind) {
    case Pred::Kind::True: out += pad + "true\n"; return;
    case Pred::Kind::False: out += pad + "false\n"; return;
    case Pred::Kind::Cmp: {
      const char* op = p.op == CmpOp::Eq ? "==" : p.op == CmpOp::Gt ? ">" : p.op == CmpOp::Ge ? ">=" : "&";
      out += pad + print(p.a) + " " + op + " " + print(p.b) + (p.op == CmpOp::Set ? " != 0" : "") + "\n";
      return;
    }
    case Pred::Kind::And:
    case Pred::Kind::Or:
      out += pad + (p.kind == Pred::Kind::And ? "and\n" : "or\n");
      print_pred(*p.l, depth + 1, out);
      print_pred(*p.r, depth + 1, out);
      return;
    case Pred::Kind::Not:
      out += pad + "not\n";
      print_pred(*p.l, depth + 1, out);
      return;
  }
}

size_t count(const Value* v) {
  if (!v) return 0;
  return 1 + count(v->a.get()) + count(v->b.get()) + count(v->c.get()) + count(v->d.get());
}

}  // namespace

std::string print(const ValuePtr& v) {
  switch (v->kind) {
    case Value::Kind::Const: return hex(v->k);
    case Value::Kind::Len: return "len";
    case Value::Kind::Neg: return "-(" + print(v->a) + ")";
    case Value::Kind::Binary:
      return "(" + print(v->a) + " " + arith_op_text(v->op) + " " + print(v->b) + ")";
    case Value::Kind::Load: {
      std::string at = v->a ? print(v->a) + " + " + std::to_string(v->k) : std::to_string(v->k);
      return "pkt[" + at + ":" + std::to_string(v->size) + "]";
    }
    case Value::Kind::SelectEq:
      return "(" + print(v->a) + " == " + print(v->b) + " ? " + print(v->c) + " : " + print(v->d) + ")";
    case Value::Kind::ProtoChain:
      return std::string("protochain(") + (v->ip6 ? "ip6" : "ip") + " at " + std::to_string(v->k) +
             ", looking for " + std::to_string(v->target) + ")";
  }
  return "?";
}

std::string print(const PredPtr& p) {
  std::string out;
  if (p) print_pred(*p, 0, out);
  else out = "true\n";
  return out;
}

size_t node_count(const PredPtr& p) {
  if (!p) return 0;
  size_t n = 1 + node_count(p->l) + node_count(p->r);
  return n + count(p->a.get()) + count(p->b.get());
}

}  // namespace dw::filter::ir
