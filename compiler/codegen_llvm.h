// The LLVM side shared by stages 6-8 (codegen.cpp, link.cpp): the BPF target,
// the filter functions, the pass pipelines and object emission. Internal to
// the compiler; everything else goes through codegen.h and link.h.
#pragma once

#include <llvm/IR/Module.h>
#include <llvm/Target/TargetMachine.h>

#include <memory>
#include <string>
#include <vector>

#include "compiler/codegen.h"

namespace dw::filter::llvm_stage {

// The BPF target (cpu v3), initialised once per process.
std::unique_ptr<llvm::TargetMachine> target_machine();
// Defines each filter in `m` (an existing declaration of the same name is
// filled in). Fails when a filter is too large (kMaxFilterInstructions).
Expected<void> define_filters(llvm::Module& m, const std::vector<FilterDef>& filters,
                              uint32_t capacity);
// Debug info for a function of the filter's type, from which the BPF
// backend writes its BTF (the verifier needs it for every function).
void describe(llvm::Module& m, llvm::Function* fn, uint32_t capacity);
// O2 for ours; mem2reg only for a direct translation (ObjectOptions).
void optimize(llvm::Module& m, llvm::TargetMachine& tm);
void promote_only(llvm::Module& m);
// The ELF object. A function whose jumps do not fit eBPF's 16-bit offsets
// is an error, not LLVM's fatal error (which would end the process).
Expected<std::vector<uint8_t>> emit_object(llvm::Module& m, llvm::TargetMachine& tm);
std::string dump(const llvm::Module& m);

}  // namespace dw::filter::llvm_stage
