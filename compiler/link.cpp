#include "compiler/link.h"

#include <llvm/Bitcode/BitcodeReader.h>
#include <llvm/IR/Constants.h>
#include <llvm/IR/Instructions.h>
#include <llvm/IR/Operator.h>
#include <llvm/Linker/Linker.h>
#include <llvm/Support/MemoryBuffer.h>

#include <cstring>

#include "bpf/bitcode.h"
#include "bpf/dropwatch_abi.h"
#include "bpf/filter_abi.h"
#include "compiler/codegen_llvm.h"

namespace dw::filter {
namespace {

// `type`'s value from its bytes in memory: integers, arrays and structs of
// them (what the knobs are); null for anything else.
llvm::Constant* from_bytes(llvm::Type* type, const uint8_t* p, const llvm::DataLayout& dl) {
  if (auto* it = llvm::dyn_cast<llvm::IntegerType>(type)) {
    uint64_t v = 0;
    if (it->getBitWidth() > 64 || it->getBitWidth() % 8) return nullptr;
    std::memcpy(&v, p, it->getBitWidth() / 8);  // both little-endian (checked)
    return llvm::ConstantInt::get(it, v);
  }
  std::vector<llvm::Constant*> parts;
  if (auto* at = llvm::dyn_cast<llvm::ArrayType>(type)) {
    uint64_t stride = dl.getTypeAllocSize(at->getElementType());
    for (uint64_t i = 0; i < at->getNumElements(); i++) {
      parts.push_back(from_bytes(at->getElementType(), p + i * stride, dl));
      if (!parts.back()) return nullptr;
    }
    return llvm::ConstantArray::get(at, parts);
  }
  if (auto* st = llvm::dyn_cast<llvm::StructType>(type)) {
    const llvm::StructLayout* layout = dl.getStructLayout(st);
    for (unsigned i = 0; i < st->getNumElements(); i++) {
      parts.push_back(from_bytes(st->getElementType(i), p + layout->getElementOffset(i), dl));
      if (!parts.back()) return nullptr;
    }
    return llvm::ConstantStruct::get(st, parts);
  }
  return nullptr;
}

// Every load through `v` (the global, or an address computed from it) no
// longer volatile: the optimizer may fold it.
void unvolatile_loads(llvm::Value* v) {
  for (llvm::User* u : v->users()) {
    if (auto* load = llvm::dyn_cast<llvm::LoadInst>(u))
      load->setVolatile(false);
    else if (llvm::isa<llvm::GEPOperator>(u) || llvm::isa<llvm::BitCastOperator>(u))
      unvolatile_loads(u);
  }
}

Expected<void> fold_rodata(llvm::Module& m, std::span<const RodataValue> rodata) {
  const llvm::DataLayout& dl = m.getDataLayout();
  if (!rodata.empty() && !dl.isLittleEndian())
    return error({}, "internal error: knobs are folded for a little-endian target only");
  for (const RodataValue& r : rodata) {
    llvm::GlobalVariable* g = m.getGlobalVariable(r.name);
    if (!g || !g->isConstant() || dl.getTypeAllocSize(g->getValueType()) != r.bytes.size())
      return error({}, "internal error: the program has no read-only global " + r.name + " of " +
                           std::to_string(r.bytes.size()) + " bytes");
    llvm::Constant* init = from_bytes(g->getValueType(), r.bytes.data(), dl);
    if (!init) return error({}, "internal error: cannot make a constant of " + r.name);
    g->setInitializer(init);
    unvolatile_loads(g);
  }
  return {};
}

}  // namespace

Expected<std::vector<uint8_t>> link_program(std::span<const uint8_t> bitcode,
                                            const std::vector<FilterDef>& filters,
                                            const ObjectOptions& opts,
                                            std::span<const RodataValue> rodata) {
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
  if (auto ok = fold_rodata(m, rodata); !ok) return std::unexpected(ok.error());
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

Expected<std::vector<uint8_t>> link_probe(const DropFilter* filter,
                                          std::span<const RodataValue> rodata) {
  Dag accept_all;
  std::vector<FilterDef> defs = filter ? filter->defs()
                                       : std::vector<FilterDef>{{kProbeLinkEntry, &accept_all},
                                                                {kProbeNetEntry, &accept_all}};
  ObjectOptions oo;
  oo.capacity = DW_SNAPLEN_MAX;
  return link_program(bpf::probe_bitcode(), defs, oo, rodata);
}

Expected<std::vector<uint8_t>> link_harness(FilterDef def, ObjectOptions opts) {
  def.name = "dw_filter";
  if (opts.capacity < DW_HARNESS_CAPACITY) opts.capacity = DW_HARNESS_CAPACITY;
  return link_program(bpf::harness_bitcode(), {def}, opts);
}

}  // namespace dw::filter
