#include "compiler/pipeline.h"

#include <functional>
#include <optional>
#include <unordered_set>

#include "compiler/parser.h"
#include "compiler/simplify.h"

namespace dw::filter {

namespace {

// The first folding error in code that survived optimization.
std::optional<Diagnostic> deferred_error(const Dag& d) {
  std::optional<Diagnostic> found;
  std::unordered_set<const ir::Value*> walked;  // values are shared: each once
  std::function<void(const ir::ValuePtr&)> walk = [&](const ir::ValuePtr& v) {
    if (!v || found || !walked.insert(v.get()).second) return;
    if (v->deferred) {
      found = *v->deferred;
      return;
    }
    walk(v->a);
    walk(v->b);
    walk(v->c);
    walk(v->d);
  };
  for (const auto& v : d.prelude) walk(v);
  std::vector<char> seen(d.nodes.size(), 0);
  std::function<void(int)> visit = [&](int n) {
    if (d.leaf(n) || seen[n] || found) return;
    seen[n] = 1;
    walk(d.nodes[n].a);
    walk(d.nodes[n].b);
    visit(d.nodes[n].t);
    visit(d.nodes[n].f);
  };
  visit(d.root);
  return found;
}

}  // namespace

Expected<FrontEnd> compile_front(const std::string& expr, const LowerOptions& opts) {
  FrontEnd fe;
  auto ast = parse(expr);
  if (!ast) return std::unexpected(ast.error());
  fe.ast = std::move(*ast);
  auto lowered = lower(fe.ast.get(), opts);
  if (!lowered) return std::unexpected(lowered.error());
  if (!lowered->optimize) {
    fe.ir = lowered->pred;
    fe.dag = build_dag(fe.ir);
    return fe;
  }
  auto too_complex = [&](size_t tests) {
    return error({0, uint32_t(expr.size())},
                 "expression too complex: " + std::to_string(tests) + " tests, more than the " +
                     std::to_string(kMaxTests) + " dropwatch optimizes");
  };
  // Folding removes a few tests, never most: a far larger count is
  // refused before the work.
  if (size_t n = ir::test_count(lowered->pred); n > 4 * kMaxTests) return too_complex(n);
  fe.ir = simplify(lowered->pred);
  Dag built = build_dag(fe.ir);
  if (built.tests() > kMaxTests) return too_complex(built.tests());
  // The root block's loads as libpcap keeps them: after its second phase.
  fe.dag = optimize_dag(built, simplify(first_test(lowered->pred)));
  if (fe.dag.root == Dag::kReject)
    return error({0, uint32_t(expr.size())}, "expression rejects all packets");
  if (auto d = deferred_error(fe.dag)) return std::unexpected(*d);
  return fe;
}

}  // namespace dw::filter
