#include "compiler/pipeline.h"

#include "compiler/parser.h"
#include "compiler/simplify.h"

namespace dw::filter {

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
  fe.ir = simplify(lowered->pred);
  fe.dag = optimize_dag(build_dag(fe.ir));
  if (fe.dag.root == Dag::kReject)
    return error({0, uint32_t(expr.size())}, "expression rejects all packets");
  return fe;
}

}  // namespace dw::filter
