#include "compiler/dag.h"

#include <algorithm>
#include <functional>
#include <iterator>
#include <map>
#include <tuple>
#include <unordered_map>

namespace dw::filter {
namespace {

using ir::CmpOp;
using ir::Pred;

// libpcap turns `(x & m) == 0` into `!(x jset m)`; do the same so that the
// same tests meet under the same key.
void canonical(CmpOp& op, ir::ValuePtr& a, ir::ValuePtr& b, bool& invert) {
  invert = false;
  if (op == CmpOp::Eq && b->kind == ir::Value::Kind::Const && b->k == 0 &&
      a->kind == ir::Value::Kind::Binary && a->op == ArithOp::And && !a->late &&
      a->b->kind == ir::Value::Kind::Const) {
    op = CmpOp::Set;
    b = a->b;
    a = a->a;
    invert = true;
  }
}

// The nodes of `order` by level, lowest first, each level in `order`'s
// order (a counting sort: scanning the list once per level was quadratic).
std::vector<int> by_level(const std::vector<int>& order, const std::vector<int>& level) {
  int top = 0;
  for (int x : order) top = std::max(top, level[x]);
  std::vector<size_t> start(top + 2, 0);
  for (int x : order) start[level[x] + 1]++;
  for (int l = 1; l <= top + 1; l++) start[l] += start[l - 1];
  std::vector<int> out(order.size());
  for (int x : order) out[start[level[x]]++] = x;
  return out;
}

// The test nodes reachable from the root in postorder (successors first),
// each with its level: 1 + the longer of its two successor levels.
void postorder_levels(const Dag& d, std::vector<int>& order, std::vector<int>& level) {
  order.clear();
  level.assign(d.nodes.size(), 0);
  std::vector<char> seen(d.nodes.size(), 0);
  std::function<void(int)> dfs = [&](int x) {
    if (d.leaf(x) || seen[x]) return;
    seen[x] = 1;
    int t = d.nodes[x].t, f = d.nodes[x].f;
    dfs(t);
    dfs(f);
    order.push_back(x);
    level[x] = 1 + std::max(d.leaf(t) ? 0 : level[t], d.leaf(f) ? 0 : level[f]);
  };
  dfs(d.root);
}

// Entry and exit numbers of a DFS over a tree given by its children: `a`
// is an ancestor of `b` (or `b` itself) when a's interval holds b's, so
// dominance questions are answered in constant time.
struct TreeNumbers {
  std::vector<int> pre, post;

  void number(int root, const std::vector<std::vector<int>>& kids) {
    pre.assign(kids.size(), 0);
    post.assign(kids.size(), 0);
    int clock = 0;
    pre[root] = clock++;
    std::vector<std::pair<int, size_t>> stack{{root, 0}};
    while (!stack.empty()) {
      auto& [v, next] = stack.back();
      if (next < kids[v].size()) {
        int k = kids[v][next++];
        pre[k] = clock++;
        stack.push_back({k, 0});
      } else {
        post[v] = clock++;
        stack.pop_back();
      }
    }
  }
  bool ancestor(int a, int b) const { return pre[a] <= pre[b] && post[b] <= post[a]; }
};

class Builder {
 public:
  Dag d;
  Builder() { d.nodes.resize(2); }

  int node(CmpOp op, ir::ValuePtr a, ir::ValuePtr b, int t, int f) {
    bool invert;
    canonical(op, a, b, invert);
    if (invert) std::swap(t, f);
    auto key = std::make_tuple(op, ids_.id(a), ids_.id(b), t, f);
    if (auto it = memo_.find(key); it != memo_.end()) return it->second;
    d.nodes.push_back({op, a, b, t, f});
    int id = int(d.nodes.size()) - 1;
    memo_.emplace(key, id);
    return id;
  }

  // Memoized by (predicate, t, f): a predicate shared in the IR is built once.
  int build(const ir::PredPtr& p, int t, int f) {
    auto key = std::make_tuple(p.get(), t, f);
    if (auto it = built_.find(key); it != built_.end()) return it->second;
    int n = build_new(p, t, f);
    built_.emplace(key, n);
    return n;
  }

  int build_new(const ir::PredPtr& p, int t, int f) {
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
  ir::ValueIds ids_;
  std::map<std::tuple<CmpOp, uint32_t, uint32_t, int, int>, int> memo_;
  std::map<std::tuple<const ir::Pred*, int, int>, int> built_;
};

// libpcap's opt_j(): each edge is redirected past tests its dominating
// edges already decided (fold_edge: the same test, or `x == k2` after
// `x == k1` held), and past tests whose branches meet. Facts come from the
// edges that dominate an edge, not from the path, and no node is copied,
// so this proves what libpcap proves, no more.
class EdgeThreader {
 public:
  EdgeThreader(Dag& d, ir::ValueIds& ids) : d_(d), ids_(ids) {}

  bool run() {
    bool any = false;
    for (int round = 0; round < 200; round++) {
      analyse();
      bool changed = false;
      for (int p : by_level(order_, level_)) changed |= thread(p, true) | thread(p, false);
      if (!changed) break;
      any = true;
    }
    return any;
  }

 private:
  struct Key {
    CmpOp op;
    uint32_t a, b;
    bool b_const;
  };

  void analyse() {
    size_t n = d_.nodes.size();
    keys_.resize(n);
    for (size_t i = 2; i < n; i++) {
      const Dag::Node& x = d_.nodes[i];
      keys_[i] = {x.op, ids_.id(x.a), ids_.id(x.b), x.b->kind == ir::Value::Kind::Const};
    }
    postorder_levels(d_, order_, level_);
    // The dominator tree of the graph with every edge split by a node of
    // its own (id n + node * 2 + taken): the edges that dominate an edge
    // are its ancestors there. One pass in reverse postorder finds each
    // immediate dominator (Cooper, Harvey and Kennedy), and pre/post
    // numbers answer "does edge c dominate edge e" in constant time; the
    // sets themselves made this quadratic in the depth of the DAG.
    std::vector<int> rpo(n, 0);
    for (size_t i = 0; i < order_.size(); i++) rpo[order_[order_.size() - 1 - i]] = int(i);
    auto edge = [n](int q, bool taken) { return int(n) + q * 2 + (taken ? 1 : 0); };
    // Ranks: a node before its false edge before its true edge.
    auto rank = [&](int v) {
      return v < int(n) ? 3 * rpo[v] : 3 * rpo[(v - int(n)) / 2] + 1 + (v - int(n)) % 2;
    };
    std::vector<int> parent(3 * n, -1);
    auto meet = [&](int a, int b) {
      while (a != b) {
        while (rank(a) > rank(b)) a = parent[a];
        while (rank(b) > rank(a)) b = parent[b];
      }
      return a;
    };
    std::vector<std::vector<int>> in(n);
    for (int x : order_) {
      for (bool taken : {true, false}) {
        int succ = taken ? d_.nodes[x].t : d_.nodes[x].f;
        parent[edge(x, taken)] = x;
        if (!d_.leaf(succ)) in[succ].push_back(edge(x, taken));
      }
    }
    for (auto it = order_.rbegin(); it != order_.rend(); ++it) {
      int x = *it;
      if (x == d_.root) continue;
      int m = -1;
      for (int e : in[x]) m = m < 0 ? e : meet(m, e);
      parent[x] = m;
    }
    std::vector<std::vector<int>> kids(3 * n);
    for (size_t v = 0; v < 3 * n; v++)
      if (parent[v] >= 0 && int(v) != d_.root) kids[parent[v]].push_back(int(v));
    if (!d_.leaf(d_.root)) tree_.number(d_.root, kids);
    // The edges of each (op, value) pair: fold_edge's candidates, in
    // preorder of the tree, each with the nearest candidate whose subtree
    // holds it. The facts on an edge are then found from the last
    // candidate before it in preorder, up that chain (subtrees nest).
    by_test_.clear();
    for (int q : order_)
      for (bool taken : {false, true})
        by_test_[{keys_[q].op, keys_[q].a}].edges.push_back(edge(q, taken));
    for (auto& [key, c] : by_test_) {
      std::sort(c.edges.begin(), c.edges.end(),
                [&](int a, int b) { return tree_.pre[a] < tree_.pre[b]; });
      c.pre.resize(c.edges.size());
      c.up.assign(c.edges.size(), -1);
      std::vector<int> open;  // candidates whose subtree we are in
      for (size_t i = 0; i < c.edges.size(); i++) {
        c.pre[i] = tree_.pre[c.edges[i]];
        while (!open.empty() && tree_.post[c.edges[open.back()]] < tree_.pre[c.edges[i]])
          open.pop_back();
        c.up[i] = open.empty() ? -1 : open.back();
        open.push_back(int(i));
      }
    }
  }

  bool dominates(int c, int e) const { return tree_.ancestor(c, e); }

  // fold_edge() over the dominators of edge `e`: the successor to take, or
  // -1. The facts on a path all hold at once, so any that decides decides
  // the same way; the nearest is tried first.
  int decide(int s, int e) const {
    const Key& k = keys_[s];
    auto it = by_test_.find({k.op, k.a});
    if (it == by_test_.end()) return -1;
    const Candidates& cs = it->second;
    int n = int(d_.nodes.size());
    int i = int(std::upper_bound(cs.pre.begin(), cs.pre.end(), tree_.pre[e]) - cs.pre.begin()) - 1;
    for (; i >= 0; i = cs.up[i]) {
      int c = cs.edges[i];
      if (!dominates(c, e)) continue;
      int q = (c - n) / 2;
      bool taken = (c - n) % 2;
      const Key& f = keys_[q];
      if (f.b == k.b) return taken ? d_.nodes[s].t : d_.nodes[s].f;
      if (taken && k.op == CmpOp::Eq && f.b_const && k.b_const) return d_.nodes[s].f;
    }
    return -1;
  }

  bool thread(int p, bool side) {
    int& succ = side ? d_.nodes[p].t : d_.nodes[p].f;
    int e = int(d_.nodes.size()) + p * 2 + (side ? 1 : 0);
    bool changed = false;
    for (int guard = 0; guard < 10000 && !d_.leaf(succ); guard++) {
      const Dag::Node& s = d_.nodes[succ];
      if (s.t == s.f) {
        succ = s.t;
        changed = true;
        continue;
      }
      int next = decide(succ, e);
      if (next < 0) break;
      succ = next;
      changed = true;
    }
    return changed;
  }

  Dag& d_;
  ir::ValueIds& ids_;
  std::vector<Key> keys_;
  std::vector<int> order_, level_;
  TreeNumbers tree_;
  struct Candidates {
    std::vector<int> edges, pre, up;
  };
  std::map<std::pair<CmpOp, uint32_t>, Candidates> by_test_;
};

// libpcap's or_pullup() and and_pullup(): in a chain of tests joined by
// `or` (false edges) that share a true target, a test of the value the
// chain's predecessor tested is pulled up ahead of tests of other values
// (and the same for `and` chains with true and false swapped). This reorders
// loads, which matters for packets cut short between them: `tcp port 80 or
// 443` tests the source port against both values before it loads the
// destination port. The analysis (in-edges, dominators, levels) is redone
// after each change; libpcap's works on slightly stale data, which may in
// rare cases pull differently. Tests are tried from the root down: tried
// from the leaves up, a chain of n pairs (`host A or host B ...`: source,
// destination, source ...) sorted like a bubble sort, in ~n^2 rounds, and
// the round limits then in force left lists of 33 or more hosts half
// sorted, rejecting packets cut short that libpcap accepts.
class Pullups {
 public:
  // `rounds`: what is left of the optimizer's budget of pulls.
  Pullups(Dag& d, ir::ValueIds& ids, size_t& rounds) : d_(d), ids_(ids), rounds_(rounds) {}

  // One pull a round, on fresh analysis, until none is left: stopping
  // early leaves loads in an order libpcap's do not have.
  bool run() {
    bool any = false;
    for (; rounds_ > 0; rounds_--) {
      analyse();
      bool changed = false;
      auto nodes = by_level(order_, level_);  // leaves first
      for (auto it = nodes.rbegin(); it != nodes.rend(); ++it) {
        int n = *it;
        if (pull(n, true) || pull(n, false)) {
          changed = true;
          break;
        }
      }
      if (!changed) break;
      any = true;
    }
    return any;
  }

 private:
  uint32_t aval(int n) const { return ids_.id(d_.nodes[n].a); }
  int& jt(int n) { return d_.nodes[n].t; }
  int& jf(int n) { return d_.nodes[n].f; }

  void analyse() {
    size_t n = d_.nodes.size();
    in_.assign(n, {});
    postorder_levels(d_, order_, level_);
    for (int x : order_) {
      if (!d_.leaf(jt(x))) in_[jt(x)].push_back({x, true});
      if (!d_.leaf(jf(x))) in_[jf(x)].push_back({x, false});
    }
    // The dominator tree: in reverse postorder every predecessor comes
    // first, so one pass of Cooper, Harvey and Kennedy's intersection
    // finds each immediate dominator; then pre/post numbers of the tree
    // answer "does b dominate x" in constant time. (A bit matrix made this
    // quadratic, and it runs after every pull.)
    std::vector<int> rpo(n, -1), idom(n, -1);
    for (size_t i = 0; i < order_.size(); i++) rpo[order_[order_.size() - 1 - i]] = int(i);
    auto meet = [&](int a, int b) {
      while (a != b) {
        while (rpo[a] > rpo[b]) a = idom[a];
        while (rpo[b] > rpo[a]) b = idom[b];
      }
      return a;
    };
    std::vector<std::vector<int>> kids(n);
    for (auto it = order_.rbegin(); it != order_.rend(); ++it) {
      int x = *it;
      if (x == d_.root) {
        idom[x] = x;
        continue;
      }
      int m = -1;
      for (auto [p, side] : in_[x]) m = m < 0 ? p : meet(m, p);
      idom[x] = m;
      kids[m].push_back(x);
    }
    if (!d_.leaf(d_.root)) tree_.number(d_.root, kids);
  }

  // Does b dominate x (both reachable)?
  bool dominates(int b, int x) const { return tree_.ancestor(b, x); }

  // or_pullup (is_or) or and_pullup on node b.
  bool pull(int b, bool is_or) {
    if (in_[b].empty()) return false;
    uint32_t val = aval(in_[b][0].first);
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
      if (d_.leaf(x) || same_exit(x) != exit_b || !dominates(b, x)) return false;
      if (aval(x) != val) break;
      diffp = &next(x);
      at_top = false;
    }
    int* samep = &next(*diffp);
    for (;;) {
      int x = *samep;
      if (d_.leaf(x) || same_exit(x) != exit_b || !dominates(b, x)) return false;
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
  ir::ValueIds& ids_;
  size_t& rounds_;
  std::vector<std::vector<std::pair<int, bool>>> in_;
  std::vector<int> level_, order_;
  TreeNumbers tree_;
};

}  // namespace

// Drops the nodes no longer reachable, renumbering the rest.
Dag compact(const Dag& d) {
  Dag out;
  out.nodes.resize(2);
  std::map<int, int> id = {{Dag::kReject, Dag::kReject}, {Dag::kAccept, Dag::kAccept}};
  std::function<int(int)> copy = [&](int n) -> int {
    if (auto it = id.find(n); it != id.end()) return it->second;
    int t = copy(d.nodes[n].t), f = copy(d.nodes[n].f);
    Dag::Node x = d.nodes[n];
    x.t = t;
    x.f = f;
    out.nodes.push_back(x);
    return id[n] = int(out.nodes.size()) - 1;
  };
  out.root = copy(d.root);
  return out;
}

// libpcap's opt_root(): root tests whose branches meet are skipped, but the
// first one's loads stay (they move into the new root), unless what is left
// is a return.
void opt_root(Dag& d, const ir::PredPtr& first, ir::ValueIds& ids) {
  while (!d.leaf(d.root) && d.nodes[d.root].t == d.nodes[d.root].f) d.root = d.nodes[d.root].t;
  if (d.leaf(d.root) || !first || first->kind != Pred::Kind::Cmp) return;
  const Dag::Node& r = d.nodes[d.root];
  bool same =
      r.op == first->op && ids.id(r.a) == ids.id(first->a) && ids.id(r.b) == ids.id(first->b);
  if (!same) d.prelude = {first->a, first->b};
}

// The second phase: tests on constants now point both branches at the
// outcome; no more threading, so nothing before them moves.
void decide_constant_tests(Dag& d) {
  for (size_t i = 2; i < d.nodes.size(); i++) {
    Dag::Node& n = d.nodes[i];
    if (n.a->kind != ir::Value::Kind::Const || n.b->kind != ir::Value::Kind::Const) continue;
    uint32_t x = n.a->k, y = n.b->k;
    bool v = n.op == CmpOp::Eq   ? x == y
             : n.op == CmpOp::Gt ? x > y
             : n.op == CmpOp::Ge ? x >= y
                                 : (x & y) != 0;
    n.t = n.f = v ? n.t : n.f;
  }
}

ir::PredPtr first_test(const ir::PredPtr& p) {
  if (!p) return nullptr;
  switch (p->kind) {
    case Pred::Kind::Cmp: return p;
    case Pred::Kind::Not: return first_test(p->l);
    case Pred::Kind::And:
    case Pred::Kind::Or: return first_test(p->l);
    default: return nullptr;  // gen_true/gen_false: a constant, no loads
  }
}

// libpcap's intern_blocks(): identical tests with identical successors
// become one, which can make a test's two branches meet.
void intern(Dag& d, ir::ValueIds& ids) {
  std::map<std::tuple<CmpOp, uint32_t, uint32_t, int, int>, int> seen;
  std::map<int, int> rep;
  std::function<int(int)> canon = [&](int n) -> int {
    if (d.leaf(n)) return n;
    if (auto it = rep.find(n); it != rep.end()) return it->second;
    Dag::Node& x = d.nodes[n];
    x.t = canon(x.t);
    x.f = canon(x.f);
    auto key = std::make_tuple(x.op, ids.id(x.a), ids.id(x.b), x.t, x.f);
    auto [it, fresh] = seen.emplace(key, n);
    return rep[n] = it->second;
  };
  d.root = canon(d.root);
}

Dag optimize_dag(const Dag& d, const ir::PredPtr& first) {
  Dag cur = d;
  ir::ValueIds ids;
  // Pulls: a list of n terms takes ~n; the budget only bounds a cycle.
  size_t pulls = 64 + 8 * cur.nodes.size();
  for (int i = 0; i < 64; i++) {
    bool changed = EdgeThreader(cur, ids).run();
    changed |= Pullups(cur, ids, pulls).run();
    if (!changed) break;
  }
  decide_constant_tests(cur);
  intern(cur, ids);
  opt_root(cur, first, ids);
  Dag out = compact(cur);
  out.prelude = cur.prelude;
  return out;
}

Dag build_dag(const ir::PredPtr& p) {
  Builder b;
  b.d.root = p ? b.build(p, Dag::kAccept, Dag::kReject) : Dag::kAccept;
  return std::move(b.d);
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
    return n == Dag::kAccept   ? std::string("accept")
           : n == Dag::kReject ? std::string("reject")
                               : "L" + std::to_string(label[n]);
  };
  std::vector<const ir::Value*> roots;
  roots.reserve(d.prelude.size() + 2 * order.size());
  for (const auto& v : d.prelude) roots.push_back(v.get());
  for (int n : order) roots.insert(roots.end(), {d.nodes[n].a.get(), d.nodes[n].b.get()});
  std::unordered_map<const ir::Value*, std::string> names;
  out += ir::name_shared(roots, names);
  for (const auto& v : d.prelude) out += "load " + ir::print(v, names) + "\n";
  if (d.leaf(d.root)) return out + target(d.root) + "\n";
  for (int n : order) {
    const Dag::Node& x = d.nodes[n];
    const char* op = x.op == CmpOp::Eq   ? "=="
                     : x.op == CmpOp::Gt ? ">"
                     : x.op == CmpOp::Ge ? ">="
                                         : "&";
    out += "L" + std::to_string(label[n]) + ": if " + ir::print(x.a, names) + " " + op + " " +
           ir::print(x.b, names) + (x.op == CmpOp::Set ? " != 0" : "") + " goto " + target(x.t) +
           " else " + target(x.f) + "\n";
  }
  return out;
}

}  // namespace dw::filter
