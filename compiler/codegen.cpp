#include "compiler/codegen.h"

#include <llvm/Bitcode/BitcodeReader.h>
#include <llvm/IR/DIBuilder.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/Verifier.h>
#include <llvm/Linker/Linker.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Transforms/Utils/Mem2Reg.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>
#include <llvm/Target/TargetOptions.h>

#include <cstdio>
#include <map>
#include <mutex>

#include "compiler/irbuilder_bpf.h"

namespace dw::filter {
namespace {

using namespace llvm;

constexpr const char* kTriple = "bpfel";

void init_llvm() {
  static std::once_flag once;
  std::call_once(once, [] {
    LLVMInitializeBPFTargetInfo();
    LLVMInitializeBPFTarget();
    LLVMInitializeBPFTargetMC();
    LLVMInitializeBPFAsmPrinter();
    LLVMInitializeBPFDisassembler();
  });
}

std::unique_ptr<TargetMachine> target_machine() {
  std::string err;
  const Target* t = TargetRegistry::lookupTarget(kTriple, err);
  if (!t) return nullptr;
  TargetOptions opts;
  return std::unique_ptr<TargetMachine>(
      t->createTargetMachine(kTriple, "v3", "", opts, Reloc::PIC_, std::nullopt,
                             CodeGenOptLevel::Aggressive));
}

// One DAG node a block; values computed where the test is.
class DagEmitter {
 public:
  DagEmitter(IRBuilderBPF& b, const Dag& d) : b_(b), d_(d) {}

  void emit() {
    for (const auto& v : d_.prelude) (void)value(*v);  // loads only: they may reject
    b_.CreateBr(block(d_.root));
    while (!work_.empty()) {
      int n = work_.back();
      work_.pop_back();
      emit_test(n);
    }
  }

 private:
  BasicBlock* block(int n) {
    if (n == Dag::kAccept) return b_.accept();
    if (n == Dag::kReject) return b_.reject();
    auto it = blocks_.find(n);
    if (it != blocks_.end()) return it->second;
    BasicBlock* bb = BasicBlock::Create(b_.getContext(), "L" + std::to_string(blocks_.size()),
                                        b_.GetInsertBlock()->getParent());
    blocks_.emplace(n, bb);
    work_.push_back(n);
    return bb;
  }

  Value* value(const ir::Value& v) {
    switch (v.kind) {
      case ir::Value::Kind::Const: return b_.getInt32(v.k);
      case ir::Value::Kind::Len: return b_.wire_len();
      case ir::Value::Kind::Neg: return b_.CreateNeg(value(*v.a), "neg");
      case ir::Value::Kind::Load:
        return b_.packet_load(v.a ? value(*v.a) : nullptr, v.k, v.size);
      case ir::Value::Kind::SelectEq: {
        Value* a = value(*v.a);
        Value* c = value(*v.b);
        Value* t = value(*v.c);
        Value* f = value(*v.d);
        return b_.CreateSelect(b_.CreateICmpEQ(a, c), t, f, "select");
      }
      case ir::Value::Kind::ProtoChain: return b_.protochain(v.ip6, v.k, v.target);
      case ir::Value::Kind::Binary: {
        Value* a = value(*v.a);
        Value* c = value(*v.b);
        switch (v.op) {
          case ArithOp::Add: return b_.CreateAdd(a, c, "add");
          case ArithOp::Sub: return b_.CreateSub(a, c, "sub");
          case ArithOp::Mul: return b_.CreateMul(a, c, "mul");
          case ArithOp::Div: return b_.checked_div(a, c, false);
          case ArithOp::Mod: return b_.checked_div(a, c, true);
          case ArithOp::And: return b_.CreateAnd(a, c, "and");
          case ArithOp::Or: return b_.CreateOr(a, c, "or");
          case ArithOp::Xor: return b_.CreateXor(a, c, "xor");
          case ArithOp::Lsh: return b_.shift(a, c, true);
          case ArithOp::Rsh: return b_.shift(a, c, false);
        }
      }
    }
    return nullptr;
  }

  void emit_test(int n) {
    const Dag::Node& x = d_.nodes[n];
    b_.SetInsertPoint(blocks_[n]);
    Value* a = value(*x.a);
    Value* c = value(*x.b);
    Value* cond;
    switch (x.op) {
      case ir::CmpOp::Eq: cond = b_.CreateICmpEQ(a, c, "eq"); break;
      case ir::CmpOp::Gt: cond = b_.CreateICmpUGT(a, c, "gt"); break;
      case ir::CmpOp::Ge: cond = b_.CreateICmpUGE(a, c, "ge"); break;
      case ir::CmpOp::Set: cond = b_.CreateICmpNE(b_.CreateAnd(a, c, "bits"), b_.getInt32(0), "set"); break;
    }
    b_.CreateCondBr(cond, block(x.t), block(x.f));
  }

  IRBuilderBPF& b_;
  const Dag& d_;
  std::map<int, BasicBlock*> blocks_;
  std::vector<int> work_;
};

// Debug info for a filter function, from which the BPF backend writes its
// BTF: `int NAME(struct dw_filter_buf *data, u32 caplen, u32 wirelen)`. A
// global BPF function needs it: the verifier checks such a function once, on
// its own, with `data` as memory of sizeof(struct dw_filter_buf) or NULL.
void describe(Module& m, Function* fn, uint32_t capacity) {
  if (!m.getModuleFlag("Debug Info Version"))
    m.addModuleFlag(Module::Warning, "Debug Info Version", DEBUG_METADATA_VERSION);
  if (!m.getModuleFlag("Dwarf Version")) m.addModuleFlag(Module::Warning, "Dwarf Version", 5);
  DIBuilder dib(m);
  DIFile* file = dib.createFile("filter", "/");
  DICompileUnit* cu = dib.createCompileUnit(dwarf::DW_LANG_C11, file, "dropfilter", true, "", 0);
  DIBasicType* i32 = dib.createBasicType("int", 32, dwarf::DW_ATE_signed);
  DIBasicType* u32 = dib.createBasicType("unsigned int", 32, dwarf::DW_ATE_unsigned);
  DIBasicType* u8 = dib.createBasicType("unsigned char", 8, dwarf::DW_ATE_unsigned_char);
  uint64_t bytes = uint64_t(capacity) + 8;  // loads are masked to capacity, up to 4 bytes wide
  DICompositeType* arr =
      dib.createArrayType(bytes * 8, 8, u8, dib.getOrCreateArray({dib.getOrCreateSubrange(0, bytes)}));
  DIDerivedType* member = dib.createMemberType(cu, "bytes", file, 0, bytes * 8, 8, 0,
                                               DINode::FlagZero, arr);
  DICompositeType* buf = dib.createStructType(cu, "dw_filter_buf", file, 0, bytes * 8, 8,
                                              DINode::FlagZero, nullptr,
                                              dib.getOrCreateArray({member}));
  DIDerivedType* ptr = dib.createPointerType(buf, 64);
  DISubroutineType* type = dib.createSubroutineType(dib.getOrCreateTypeArray({i32, ptr, u32, u32}));
  DISubprogram* sp = dib.createFunction(cu, fn->getName(), fn->getName(), file, 0, type, 0,
                                        DINode::FlagPrototyped, DISubprogram::SPFlagDefinition);
  fn->setSubprogram(sp);
  const char* names[] = {"data", "caplen", "wirelen"};
  DIType* types[] = {ptr, u32, u32};
  for (unsigned i = 0; i < 3; i++)
    dib.createParameterVariable(sp, names[i], i + 1, file, 0, types[i], true);
  dib.finalize();
}

// The filter: one global, never inlined BPF function, so the same machine
// code runs in `dropfilter --dump-bpf`, the test harness and the probe.
Function* emit_filter(Module& m, const FilterDef& f, uint32_t capacity) {
  LLVMContext& c = m.getContext();
  FunctionType* ft = FunctionType::get(Type::getInt32Ty(c),
                                       {PointerType::get(c, 0), Type::getInt32Ty(c),
                                        Type::getInt32Ty(c)},
                                       false);
  Function* fn = m.getFunction(f.name);
  if (!fn) fn = Function::Create(ft, Function::ExternalLinkage, f.name, m);
  fn->addFnAttr(Attribute::NoInline);
  fn->addFnAttr(Attribute::NoUnwind);  // no .eh_frame in a BPF object
  IRBuilderBPF b(fn, capacity);
  if (f.body)
    f.body(b);
  else
    DagEmitter(b, *f.dag).emit();
  describe(m, fn, capacity);
  return fn;
}

void promote_only(Module& m) {
  FunctionAnalysisManager fam;
  LoopAnalysisManager lam;
  CGSCCAnalysisManager cgam;
  ModuleAnalysisManager mam;
  PassBuilder pb;
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  FunctionPassManager fpm;
  fpm.addPass(PromotePass());
  for (Function& f : m)
    if (!f.isDeclaration()) fpm.run(f, fam);
}

void optimize(Module& m, TargetMachine& tm) {
  LoopAnalysisManager lam;
  FunctionAnalysisManager fam;
  CGSCCAnalysisManager cgam;
  ModuleAnalysisManager mam;
  PassBuilder pb(&tm);
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  ModulePassManager mpm = pb.buildPerModuleDefaultPipeline(OptimizationLevel::O2);
  mpm.run(m, mam);
}

Expected<std::vector<uint8_t>> emit_object(Module& m, TargetMachine& tm) {
  std::string verr;
  raw_string_ostream vs(verr);
  if (verifyModule(m, &vs)) return error({}, "internal error: invalid LLVM IR: " + verr);
  SmallVector<char, 0> buf;
  raw_svector_ostream os(buf);
  legacy::PassManager pm;
  if (tm.addPassesToEmitFile(pm, os, nullptr, CodeGenFileType::ObjectFile))
    return error({}, "internal error: the BPF target cannot emit objects");
  pm.run(m);
  return std::vector<uint8_t>(buf.begin(), buf.end());
}

std::string dump(const Module& m) {
  std::string s;
  raw_string_ostream os(s);
  m.print(os, nullptr);
  return s;
}

}  // namespace

Expected<std::vector<uint8_t>> compile_filters(const std::vector<FilterDef>& filters,
                                               const ObjectOptions& opts) {
  init_llvm();
  auto tm = target_machine();
  if (!tm) return error({}, "internal error: libLLVM has no BPF target");
  LLVMContext ctx;
  Module m("dropfilter", ctx);
  m.setTargetTriple(kTriple);
  m.setDataLayout(tm->createDataLayout());
  for (const FilterDef& f : filters) emit_filter(m, f, opts.capacity);
  if (opts.optimize_filters)
    optimize(m, *tm);
  else
    promote_only(m);
  if (opts.llvm_ir) *opts.llvm_ir = dump(m);
  return emit_object(m, *tm);
}

Expected<std::vector<uint8_t>> link_program(std::span<const uint8_t> bitcode,
                                            const std::vector<FilterDef>& filters,
                                            const ObjectOptions& opts) {
  init_llvm();
  auto tm = target_machine();
  if (!tm) return error({}, "internal error: libLLVM has no BPF target");
  LLVMContext ctx;
  auto buf = MemoryBuffer::getMemBuffer(
      StringRef(reinterpret_cast<const char*>(bitcode.data()), bitcode.size()), "program.bc",
      false);
  auto prog = parseBitcodeFile(buf->getMemBufferRef(), ctx);
  if (!prog) return error({}, "internal error: cannot read program bitcode: " + toString(prog.takeError()));
  Module& m = **prog;
  auto fm = std::make_unique<Module>("filters", ctx);
  fm->setTargetTriple(m.getTargetTriple());
  fm->setDataLayout(m.getDataLayout());
  for (const FilterDef& f : filters) emit_filter(*fm, f, opts.capacity);
  // Optimized on their own, exactly as compile_filters() does, then linked in
  // as they are: global and never inlined, so no caller changes their code.
  if (opts.optimize_filters)
    optimize(*fm, *tm);
  else
    promote_only(*fm);
  if (Linker::linkModules(m, std::move(fm)))
    return error({}, "internal error: linking the filter into the program failed");
  optimize(m, *tm);
  if (opts.llvm_ir) *opts.llvm_ir = dump(m);
  return emit_object(m, *tm);
}

}  // namespace dw::filter
