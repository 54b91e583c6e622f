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

// libpcap's or_pullup() and and_pullup(): in a chain of tests joined by
// `or` (false edges) that share a true target, a test of the value the
// chain's predecessor tested is pulled up ahead of tests of other values
// (and the same for `and` chains with true and false swapped). This reorders
// loads, which matters for packets cut short between them: `tcp port 80 or
// 443` tests the source port against both values before it loads the
// destination port. The analysis (in-edges, dominators, levels) is redone
// after each change; libpcap's works on slightly stale data, which may in
// rare cases pull differently.
class Pullups {
 public:
  explicit Pullups(Dag& d) : d_(d) {}

  bool run() {
    bool any = false;
    for (int rounds = 0; rounds < 64; rounds++) {
      analyse();
      bool changed = false;
      for (int level = 1; level <= max_level_ && !changed; level++) {
        for (int n : order_) {
          if (level_[n] != level) continue;
          if (pull(n, true) || pull(n, false)) {
            changed = true;
            break;
          }
        }
      }
      if (!changed) break;
      any = true;
    }
    return any;
  }

 private:
  std::string aval(int n) const { return ir::print(d_.nodes[n].a); }
  int& jt(int n) { return d_.nodes[n].t; }
  int& jf(int n) { return d_.nodes[n].f; }

  void analyse() {
    size_t n = d_.nodes.size();
    in_.assign(n, {});
    level_.assign(n, 0);
    order_.clear();
    std::vector<char> seen(n, 0);
    std::function<void(int)> dfs = [&](int x) {
      if (d_.leaf(x) || seen[x]) return;
      seen[x] = 1;
      dfs(jt(x));
      dfs(jf(x));
      order_.push_back(x);  // postorder: successors first
      level_[x] = 1 + std::max(d_.leaf(jt(x)) ? 0 : level_[jt(x)], d_.leaf(jf(x)) ? 0 : level_[jf(x)]);
    };
    dfs(d_.root);
    max_level_ = d_.leaf(d_.root) ? 0 : level_[d_.root];
    for (int x : order_) {
      if (!d_.leaf(jt(x))) in_[jt(x)].push_back({x, true});
      if (!d_.leaf(jf(x))) in_[jf(x)].push_back({x, false});
    }
    // Dominators, in reverse postorder (predecessors first).
    dom_.assign(n, std::vector<char>(n, 1));
    for (auto it = order_.rbegin(); it != order_.rend(); ++it) {
      int x = *it;
      std::vector<char> d(n, x == d_.root ? 0 : 1);
      if (x != d_.root)
        for (auto [p, side] : in_[x])
          for (size_t i = 0; i < n; i++) d[i] = d[i] && dom_[p][i];
      d[x] = 1;
      dom_[x] = std::move(d);
    }
  }

  // or_pullup (is_or) or and_pullup on node b.
  bool pull(int b, bool is_or) {
    if (in_[b].empty()) return false;
    std::string val = aval(in_[b][0].first);
    for (auto [p, side] : in_[b])
      if (aval(p) != val) return false;
    auto same_exit = [&](int x) { return is_or ? jt(x) : jf(x); };
    auto next = [&](int x) -> int& { return is_or ? jf(x) : jt(x); };
    auto [p0, side0] = in_[b][0];
    int* diffp = side0 ? &jt(p0) : &jf(p0);
    bool at_top = true;
    int exit_b = same_exit(b);
    for (;;) {
      int x = *diffp;
      if (d_.leaf(x) || same_exit(x) != exit_b || !dom_[x][b]) return false;
      if (aval(x) != val) break;
      diffp = &next(x);
      at_top = false;
    }
    int* samep = &next(*diffp);
    for (;;) {
      int x = *samep;
      if (d_.leaf(x) || same_exit(x) != exit_b || !dom_[x][b]) return false;
      if (aval(x) == val) break;
      samep = &next(x);
    }
    int pulled = *samep;
    *samep = next(pulled);
    next(pulled) = *diffp;
    if (at_top) {
      for (auto [p, side] : in_[b]) (side ? jt(p) : jf(p)) = pulled;
    } else {
      *diffp = pulled;
    }
    return true;
  }

  Dag& d_;
  std::vector<std::vector<std::pair<int, bool>>> in_;
  std::vector<int> level_, order_;
  std::vector<std::vector<char>> dom_;
  int max_level_ = 0;
};

}  // namespace

Dag optimize_dag(const Dag& d, size_t budget) {
  Dag cur = thread_jumps(d, budget);
  for (int i = 0; i < 8; i++) {
    if (!Pullups(cur).run()) break;
    cur = thread_jumps(cur, budget);
  }
  return cur;
}

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
