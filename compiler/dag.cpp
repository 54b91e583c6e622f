#include "compiler/dag.h"

#include <functional>
#include <map>
#include <tuple>

namespace dw::filter {
namespace {

using ir::CmpOp;
using ir::Pred;

// libpcap turns `(x & m) == 0` into `!(x jset m)`; do the same so that the
// same tests meet under the same key.
void canonical(CmpOp& op, ir::ValuePtr& a, ir::ValuePtr& b, bool& invert) {
  invert = false;
  if (op == CmpOp::Eq && b->kind == ir::Value::Kind::Const && b->k == 0 &&
      a->kind == ir::Value::Kind::Binary && a->op == ArithOp::And &&
      a->b->kind == ir::Value::Kind::Const) {
    op = CmpOp::Set;
    b = a->b;
    a = a->a;
    invert = true;
  }
}

class Builder {
 public:
  Dag d;
  Builder() { d.nodes.resize(2); }

  int node(CmpOp op, ir::ValuePtr a, ir::ValuePtr b, int t, int f) {
    bool invert;
    canonical(op, a, b, invert);
    if (invert) std::swap(t, f);
    auto key = std::make_tuple(op, ir::print(a), ir::print(b), t, f);
    if (auto it = memo_.find(key); it != memo_.end()) return it->second;
    d.nodes.push_back({op, a, b, t, f});
    int id = int(d.nodes.size()) - 1;
    memo_.emplace(key, id);
    return id;
  }

  int build(const ir::PredPtr& p, int t, int f) {
    switch (p->kind) {
      case Pred::Kind::True: return t;
      case Pred::Kind::False: return f;
      case Pred::Kind::Cmp: return node(p->op, p->a, p->b, t, f);
      case Pred::Kind::Not: return build(p->l, f, t);
      case Pred::Kind::And: return build(p->l, build(p->r, t, f), f);
      case Pred::Kind::Or: return build(p->l, t, build(p->r, t, f));
    }
    return f;
  }

 private:
  std::map<std::tuple<CmpOp, std::string, std::string, int, int>, int> memo_;
};

// What a path has learnt: test (op, a, b) came out `outcome`.
struct Fact {
  CmpOp op;
  std::string a, b;
  bool b_const;
  bool outcome;
};

class Threader {
 public:
  Threader(const Dag& in, size_t budget) : in_(in), budget_(budget) { out_.nodes.resize(2); }

  bool run(Dag& result) {
    std::vector<Fact> facts;
    int r = visit(in_.root, facts);
    if (r < 0) return false;
    out_.root = r;
    result = std::move(out_);
    return true;
  }

 private:
  // fold_edge(): the same test decided earlier, or, after `x == k1` held,
  // `x == k2` with another constant.
  static int decide(const Dag::Node& n, const std::string& a, const std::string& b,
                    const std::vector<Fact>& facts) {
    for (auto it = facts.rbegin(); it != facts.rend(); ++it) {
      if (it->op != n.op || it->a != a) continue;
      if (it->b == b) return it->outcome ? 1 : 0;
      if (n.op == CmpOp::Eq && it->outcome && it->b_const && n.b->kind == ir::Value::Kind::Const)
        return 0;
    }
    return -1;
  }

  int visit(int id, std::vector<Fact>& facts) {
    if (in_.leaf(id)) return id;
    if (out_.nodes.size() > budget_) return -1;
    const Dag::Node& n = in_.nodes[id];
    std::string a = ir::print(n.a), b = ir::print(n.b);
    int known = decide(n, a, b, facts);
    if (known >= 0) return visit(known ? n.t : n.f, facts);
    std::string key = std::to_string(id) + "|" + relevant(facts);
    if (auto it = memo_.find(key); it != memo_.end()) return it->second;
    bool bc = n.b->kind == ir::Value::Kind::Const;
    facts.push_back({n.op, a, b, bc, true});
    int t = visit(n.t, facts);
    facts.back().outcome = false;
    int f = t < 0 ? -1 : visit(n.f, facts);
    facts.pop_back();
    if (t < 0 || f < 0) return -1;
    int r;
    if (t == f) {
      r = t;  // both branches meet: the test and its loads go
    } else {
      auto ckey = std::make_tuple(n.op, a, b, t, f);
      if (auto it = cons_.find(ckey); it != cons_.end()) {
        r = it->second;
      } else {
        out_.nodes.push_back({n.op, n.a, n.b, t, f});
        r = int(out_.nodes.size()) - 1;
        cons_.emplace(ckey, r);
      }
    }
    memo_.emplace(key, r);
    return r;
  }

  static std::string relevant(const std::vector<Fact>& facts) {
    std::string s;
    for (const Fact& f : facts) {
      s += std::to_string(int(f.op)) + f.a + (f.outcome ? "=" : "!") + f.b + ";";
    }
    return s;
  }

  const Dag& in_;
  size_t budget_;
  Dag out_;
  std::map<std::string, int> memo_;
  std::map<std::tuple<CmpOp, std::string, std::string, int, int>, int> cons_;
};

}  // namespace

Dag build_dag(const ir::PredPtr& p) {
  Builder b;
  b.d.root = p ? b.build(p, Dag::kAccept, Dag::kReject) : Dag::kAccept;
  return std::move(b.d);
}

Dag thread_jumps(const Dag& d, size_t budget) {
  Dag out;
  if (Threader(d, budget).run(out)) return out;
  return d;
}

std::string print(const Dag& d) {
  std::string out;
  std::map<int, int> label;  // node id -> printed number, in visit order
  std::vector<int> order;
  std::function<void(int)> walk = [&](int n) {
    if (d.leaf(n) || label.count(n)) return;
    label[n] = int(order.size());
    order.push_back(n);
    walk(d.nodes[n].t);
    walk(d.nodes[n].f);
  };
  walk(d.root);
  auto target = [&](int n) {
    return n == Dag::kAccept ? std::string("accept") : n == Dag::kReject ? std::string("reject")
                                                                          : "L" + std::to_string(label[n]);
  };
  if (d.leaf(d.root)) return target(d.root) + "\n";
  for (int n : order) {
    const Dag::Node& x = d.nodes[n];
    const char* op = x.op == CmpOp::Eq ? "==" : x.op == CmpOp::Gt ? ">" : x.op == CmpOp::Ge ? ">=" : "&";
    out += "L" + std::to_string(label[n]) + ": if " + ir::print(x.a) + " " + op + " " +
           ir::print(x.b) + (x.op == CmpOp::Set ? " != 0" : "") + " goto " + target(x.t) +
           " else " + target(x.f) + "\n";
  }
  return out;
}

}  // namespace dw::filter
