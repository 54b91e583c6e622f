#include "compiler/simplify.h"

#include <unordered_map>

namespace dw::filter {
namespace {

using ir::Pred;
using ir::PredPtr;
using ir::Value;
using ir::ValuePtr;

bool is_const(const ValuePtr& v, uint32_t* out = nullptr) {
  if (v->kind != Value::Kind::Const) return false;
  if (out) *out = v->k;
  return true;
}

// Values and predicates are shared graphs (a geneve offset refers to the
// ones before it): each node is folded once, by pointer.
class Simplifier {
 public:
  ValuePtr fold(const ValuePtr& v) {
    if (auto it = values_.find(v.get()); it != values_.end()) return it->second;
    ValuePtr out = fold_new(v);
    values_.emplace(v.get(), out);
    return out;
  }
  PredPtr simp(const PredPtr& p) {
    if (auto it = preds_.find(p.get()); it != preds_.end()) return it->second;
    PredPtr out = simp_new(p);
    preds_.emplace(p.get(), out);
    return out;
  }

 private:
  ValuePtr fold_new(const ValuePtr& v);
  PredPtr simp_new(const PredPtr& p);
  std::unordered_map<const Value*, ValuePtr> values_;
  std::unordered_map<const Pred*, PredPtr> preds_;
};

ValuePtr Simplifier::fold_new(const ValuePtr& v) {
  switch (v->kind) {
    case Value::Kind::Const:
    case Value::Kind::Len:
    case Value::Kind::ProtoChain: return v;
    case Value::Kind::SelectEq: {
      ValuePtr a = fold(v->a), b = fold(v->b);
      uint32_t x, y;
      if (is_const(a, &x) && is_const(b, &y)) return fold(x == y ? v->c : v->d);
      return ir::select_eq(a, b, fold(v->c), fold(v->d));
    }
    case Value::Kind::Neg: {
      ValuePtr a = fold(v->a);
      uint32_t k;
      if (is_const(a, &k)) return ir::late_konst(0u - k);
      return a == v->a ? v : ir::neg(a, v->late);
    }
    case Value::Kind::Load: {
      if (!v->a) return v;
      ValuePtr a = fold(v->a);
      return a == v->a ? v : ir::load(a, v->k, v->size);
    }
    case Value::Kind::Binary: {
      ValuePtr a = fold(v->a), b = fold(v->b);
      uint32_t x, y;
      bool ca = is_const(a, &x), cb = is_const(b, &y);
      // Folded constants of ALU instructions are the second phase's; the
      // folding error (if any) stays with the result.
      auto k = [&](uint32_t z) {
        auto c = std::make_shared<Value>(*ir::late_konst(z));
        c->deferred = v->deferred;
        return ValuePtr(c);
      };
      if (ca && cb) {
        switch (v->op) {
          case ArithOp::Add: return k(x + y);
          case ArithOp::Sub: return k(x - y);
          case ArithOp::Mul: return k(x * y);
          case ArithOp::Div:
            if (y) return k(x / y);
            break;
          case ArithOp::Mod:
            if (y) return k(x % y);
            break;
          case ArithOp::And: return k(x & y);
          case ArithOp::Or: return k(x | y);
          case ArithOp::Xor: return k(x ^ y);
          case ArithOp::Lsh: return k(y < 32 ? x << y : 0);
          case ArithOp::Rsh: return k(y < 32 ? x >> y : 0);
        }
      }
      // A op 0 where the result no longer depends on A: the optimizer
      // loads the constant and the computation of A dies with its loads.
      // A primitive's mask of 0 is seen in the first phase (as a jset of
      // nothing), user arithmetic only in the second.
      if (cb && y == 0 && (v->op == ArithOp::And || v->op == ArithOp::Mul))
        return v->late ? ir::late_konst(0) : ir::konst(0);
      if (a == v->a && b == v->b) return v;
      auto n = std::make_shared<Value>(*ir::binary(v->op, a, b, v->late));
      n->deferred = v->deferred;
      return n;
    }
  }
  return v;
}

bool is_true(const PredPtr& p) { return p->kind == Pred::Kind::True; }
bool is_false(const PredPtr& p) { return p->kind == Pred::Kind::False; }

PredPtr Simplifier::simp_new(const PredPtr& p) {
  switch (p->kind) {
    case Pred::Kind::True:
    case Pred::Kind::False: return p;
    case Pred::Kind::Cmp: {
      ValuePtr a = fold(p->a), b = fold(p->b);
      uint32_t x, y;
      // Decided by second-phase constants: the test stays, its branches
      // meet later (optimize_dag), nothing propagates from it.
      if (is_const(a) && is_const(b) && (a->late || b->late)) return ir::cmp(p->op, a, b);
      if (is_const(a, &x) && is_const(b, &y)) {
        switch (p->op) {
          case ir::CmpOp::Eq: return ir::truth(x == y);
          case ir::CmpOp::Gt: return ir::truth(x > y);
          case ir::CmpOp::Ge: return ir::truth(x >= y);
          case ir::CmpOp::Set: return ir::truth((x & y) != 0);
        }
      }
      // x & 0 is never set, whatever x loads.
      if (p->op == ir::CmpOp::Set && is_const(b, &y) && y == 0) return ir::truth(false);
      if (a == p->a && b == p->b) return p;
      return ir::cmp(p->op, a, b);
    }
    case Pred::Kind::Not: {
      PredPtr l = simp(p->l);
      if (is_true(l)) return ir::truth(false);
      if (is_false(l)) return ir::truth(true);
      if (l->kind == Pred::Kind::Not) return l->l;
      return l == p->l ? p : ir::negate(l);
    }
    case Pred::Kind::And:
    case Pred::Kind::Or: {
      bool is_and = p->kind == Pred::Kind::And;
      PredPtr l = simp(p->l), r = simp(p->r);
      // The absorbing value on the left ends evaluation. On the right it
      // makes the left side's branches meet; that is left to the DAG stage,
      // which keeps the loads libpcap keeps (opt_root).
      if (is_and ? is_false(l) : is_true(l)) return l;
      if (is_and ? is_true(l) : is_false(l)) return r;
      if (is_and ? is_true(r) : is_false(r)) return l;
      if (l == p->l && r == p->r) return p;
      return is_and ? ir::all(l, r) : ir::any(l, r);
    }
  }
  return p;
}

}  // namespace

ir::PredPtr simplify(const ir::PredPtr& p) { return p ? Simplifier().simp(p) : p; }

}  // namespace dw::filter
