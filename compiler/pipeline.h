// The filter compiler, stage by stage. Each stage is one file and can be
// dumped from `dropfilter` (--dump-ast, --dump-ir, --dump-dag, --dump-llvm,
// --dump-bpf).
//
//   1. lex        lexer.h      characters -> tokens, flex's longest match
//   2. parse      parser.h     tokens -> AST, qualifier inheritance explicit
//   3. lower      lower.h      AST -> IR with libpcap's checks and offsets
//   4. simplify   simplify.h   constant folding, dead loads, dead branches
//   5. dag        dag.h        IR -> decision DAG, libpcap's jump threading
//   6. codegen    codegen.h    DAG -> LLVM IR (one BPF subprogram)
//   7. object     codegen.h    LLVM IR -> BPF ELF object, in memory
//   8. link       link.h       filter + probe or harness bitcode -> program
//
// drop_filter.h compiles dropwatch's --filter through stages 1-5 twice (MAC
// and IP header first); interp.h runs a DAG without the kernel.
#pragma once

#include <memory>
#include <string>

#include "compiler/ast.h"
#include "compiler/dag.h"
#include "compiler/diagnostic.h"
#include "compiler/ir.h"
#include "compiler/lower.h"

namespace dw::filter {

struct FrontEnd {
  std::unique_ptr<Node> ast;  // null for the empty expression
  ir::PredPtr ir;             // after simplify
  Dag dag;                    // after jump threading
};

// Stages 1-5. Errors carry the source range of the offending text.
Expected<FrontEnd> compile_front(const std::string& expr, const LowerOptions& opts);

}  // namespace dw::filter
