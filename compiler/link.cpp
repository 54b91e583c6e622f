#include "compiler/link.h"

#include <llvm/Bitcode/BitcodeReader.h>
#include <llvm/Linker/Linker.h>
#include <llvm/Support/MemoryBuffer.h>

#include "bpf/bitcode.h"
#include "bpf/dropwatch_abi.h"
#include "bpf/filter_abi.h"
#include "compiler/codegen_llvm.h"

namespace dw::filter {

Expected<std::vector<uint8_t>> link_program(std::span<const uint8_t> bitcode,
                                            const std::vector<FilterDef>& filters,
                                            const ObjectOptions& opts) {
  auto tm = llvm_stage::target_machine();
  if (!tm) return error({}, "internal error: libLLVM has no BPF target");
  llvm::LLVMContext ctx;
  ctx.setDiscardValueNames(opts.llvm_ir == nullptr);
  auto buf = llvm::MemoryBuffer::getMemBuffer(
      llvm::StringRef(reinterpret_cast<const char*>(bitcode.data()), bitcode.size()), "program.bc",
      false);
  auto prog = llvm::parseBitcodeFile(buf->getMemBufferRef(), ctx);
  if (!prog)
    return error(
        {}, "internal error: cannot read program bitcode: " + llvm::toString(prog.takeError()));
  llvm::Module& m = **prog;
  auto fm = std::make_unique<llvm::Module>("filters", ctx);
  fm->setTargetTriple(m.getTargetTriple());
  fm->setDataLayout(m.getDataLayout());
  if (auto ok = llvm_stage::define_filters(*fm, filters, opts.capacity); !ok)
    return std::unexpected(ok.error());
  if (opts.optimize_filters)
    llvm_stage::optimize(*fm, *tm);
  else
    llvm_stage::promote_only(*fm);
  if (llvm::Linker::linkModules(m, std::move(fm)))
    return error({}, "internal error: linking the filter into the program failed");
  llvm_stage::optimize(m, *tm);
  if (opts.llvm_ir) *opts.llvm_ir = llvm_stage::dump(m);
  return llvm_stage::emit_object(m, *tm);
}

Expected<std::vector<uint8_t>> link_probe(const DropFilter* filter) {
  Dag accept_all;
  std::vector<FilterDef> defs = filter ? filter->defs()
                                       : std::vector<FilterDef>{{kProbeLinkEntry, &accept_all},
                                                                {kProbeNetEntry, &accept_all}};
  ObjectOptions oo;
  oo.capacity = DW_SNAPLEN_MAX;
  return link_program(bpf::probe_bitcode(), defs, oo);
}

Expected<std::vector<uint8_t>> link_harness(FilterDef def, ObjectOptions opts) {
  def.name = "dw_filter";
  if (opts.capacity < DW_HARNESS_CAPACITY) opts.capacity = DW_HARNESS_CAPACITY;
  return link_program(bpf::harness_bitcode(), {def}, opts);
}

}  // namespace dw::filter
