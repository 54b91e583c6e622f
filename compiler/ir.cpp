#include "compiler/ir.h"

#include <algorithm>
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

using Names = std::unordered_map<const Value*, std::string>;

std::string print_value(const Value* v, const Names* names, bool top = false) {
  if (names && !top) {
    if (auto it = names->find(v); it != names->end()) return it->second;
  }
  auto sub = [&](const ValuePtr& c) { return print_value(c.get(), names); };
  switch (v->kind) {
    case Value::Kind::Const: return hex(v->k);
    case Value::Kind::Len: return "len";
    case Value::Kind::Neg: return "-(" + sub(v->a) + ")";
    case Value::Kind::Binary:
      return "(" + sub(v->a) + " " + arith_op_text(v->op) + " " + sub(v->b) + ")";
    case Value::Kind::Load: {
      std::string at = v->a ? sub(v->a) + " + " + std::to_string(v->k) : std::to_string(v->k);
      return "pkt[" + at + ":" + std::to_string(v->size) + "]";
    }
    case Value::Kind::SelectEq:
      return "(" + sub(v->a) + " == " + sub(v->b) + " ? " + sub(v->c) + " : " + sub(v->d) + ")";
    case Value::Kind::ProtoChain:
      return std::string("protochain(") + (v->ip6 ? "ip6" : "ip") + " at " + std::to_string(v->k) +
             (v->target == kProtoChainAny ? std::string(", to its end")
                                          : ", looking for " + std::to_string(v->target)) +
             ")";
  }
  return "?";
}

void print_pred(const Pred& p, int depth, const Names& names, std::string& out) {
  std::string pad(size_t(depth) * 2, ' ');
  switch (p.kind) {
    case Pred::Kind::True: out += pad + "true\n"; return;
    case Pred::Kind::False: out += pad + "false\n"; return;
    case Pred::Kind::Cmp: {
      const char* op = p.op == CmpOp::Eq   ? "=="
                       : p.op == CmpOp::Gt ? ">"
                       : p.op == CmpOp::Ge ? ">="
                                           : "&";
      out += pad + print(p.a, names) + " " + op + " " + print(p.b, names) +
             (p.op == CmpOp::Set ? " != 0" : "") + "\n";
      return;
    }
    case Pred::Kind::And:
    case Pred::Kind::Or:
      out += pad + (p.kind == Pred::Kind::And ? "and\n" : "or\n");
      print_pred(*p.l, depth + 1, names, out);
      print_pred(*p.r, depth + 1, names, out);
      return;
    case Pred::Kind::Not:
      out += pad + "not\n";
      print_pred(*p.l, depth + 1, names, out);
      return;
  }
}

void pred_values(const Pred* p, std::vector<const Value*>& out) {
  if (!p) return;
  if (p->a) out.push_back(p->a.get());
  if (p->b) out.push_back(p->b.get());
  pred_values(p->l.get(), out);
  pred_values(p->r.get(), out);
}

// A value printed inline costs this many nodes (saturating): what makes a
// shared value worth a name.
constexpr size_t kInline = 64;

struct SharedFinder {
  std::unordered_map<const Value*, size_t> refs, size;
  std::vector<const Value*> order;  // children before parents

  void visit(const Value* v) {
    if (!v) return;
    if (refs[v]++) return;
    for (const Value* c : {v->a.get(), v->b.get(), v->c.get(), v->d.get()}) visit(c);
    size_t n = 1;
    for (const Value* c : {v->a.get(), v->b.get(), v->c.get(), v->d.get()})
      if (c) n = std::min(kInline + 1, n + size[c]);
    size[v] = n;
    order.push_back(v);
  }
};

}  // namespace

std::string name_shared(const std::vector<const Value*>& roots, Names& names) {
  SharedFinder f;
  for (const Value* v : roots) f.visit(v);
  std::string defs;
  for (const Value* v : f.order) {
    if (f.refs[v] < 2 || f.size[v] <= kInline) continue;
    std::string name = "v" + std::to_string(names.size() + 1);
    defs += name + " = " + print_value(v, &names, true) + "\n";
    names.emplace(v, std::move(name));
  }
  return defs;
}

std::string print(const ValuePtr& v) { return print_value(v.get(), nullptr); }

std::string print(const ValuePtr& v, const Names& names) { return print_value(v.get(), &names); }

std::string print(const PredPtr& p) {
  if (!p) return "true\n";
  std::vector<const Value*> roots;
  pred_values(p.get(), roots);
  Names names;
  std::string out = name_shared(roots, names);
  print_pred(*p, 0, names, out);
  return out;
}

uint32_t ValueIds::id(const Value* v) {
  if (!v) return 0;
  if (auto it = memo_.find(v); it != memo_.end()) return it->second;
  Key k{v->kind, v->k,           v->size,        v->op,          v->target,
        v->ip6,  id(v->a.get()), id(v->b.get()), id(v->c.get()), id(v->d.get())};
  auto [it, fresh] = table_.emplace(k, uint32_t(table_.size() + 1));
  memo_.emplace(v, it->second);
  return it->second;
}

size_t test_count(const PredPtr& p) {
  std::unordered_map<const Pred*, bool> seen;
  std::vector<const Pred*> todo = {p.get()};
  size_t n = 0;
  while (!todo.empty()) {
    const Pred* q = todo.back();
    todo.pop_back();
    if (!q || seen[q]) continue;
    seen[q] = true;
    n += q->kind == Pred::Kind::Cmp;
    todo.push_back(q->l.get());
    todo.push_back(q->r.get());
  }
  return n;
}

}  // namespace dw::filter::ir
