// Stage 6: the decision DAG as one LLVM function per filter.
#include <llvm/IR/DIBuilder.h>
#include <llvm/IR/Module.h>

#include <map>
#include <unordered_map>
#include <unordered_set>

#include "compiler/codegen_llvm.h"
#include "compiler/irbuilder_bpf.h"

namespace dw::filter::llvm_stage {
namespace {

using namespace llvm;

// One DAG node a block; values computed where the test is. A value shared
// by several operands of one test (the offsets after geneve or vlan refer
// to the ones before them) is emitted once per test: emitting the value
// tree instead of its DAG is exponential in the number of such primitives.
// A run of equality tests of one value is one switch (eq_run).
class DagEmitter {
 public:
  DagEmitter(IRBuilderBPF& b, const Dag& d, Function* fn) : b_(b), d_(d), fn_(fn) {}

  Expected<void> emit() {
    // How many tests compare each protochain walk (lower.cpp shares them).
    for (size_t i = 2; i < d_.nodes.size(); i++)
      for (const ir::Value* v : {d_.nodes[i].a.get(), d_.nodes[i].b.get()})
        if (v->kind == ir::Value::Kind::ProtoChain) chain_tests_[v]++;
    // Edges into each test (the root's entry one of them); a default Dag
    // has no nodes at all, not even its leaves.
    preds_.assign(d_.nodes.size(), 0);
    auto into = [&](int n) {
      if (!d_.leaf(n)) preds_[n]++;
    };
    into(d_.root);
    for (size_t i = 2; i < d_.nodes.size(); i++) {
      into(d_.nodes[i].t);
      into(d_.nodes[i].f);
    }
    for (const auto& v : d_.prelude) (void)value(*v);  // loads only: they may reject
    b_.CreateBr(block(d_.root));
    size_t emitted = 0;
    while (!work_.empty()) {
      int n = work_.back();
      work_.pop_back();
      emit_test(n);
      if (++emitted % 64 == 0 && fn_->getInstructionCount() > kMaxFilterInstructions)
        return too_complex();
    }
    if (fn_->getInstructionCount() > kMaxFilterInstructions) return too_complex();
    return {};
  }

 private:
  static std::unexpected<Diagnostic> too_complex() {
    return error({}, "expression too complex: its code would exceed " +
                         std::to_string(kMaxFilterInstructions) + " LLVM instructions");
  }

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

  // Values emitted in the current test's blocks dominate the rest of that
  // test, so they can be reused there (and only there).
  Value* value(const ir::Value& v) {
    if (v.kind == ir::Value::Kind::Const) return b_.getInt32(v.k);
    if (v.kind == ir::Value::Kind::Len) return b_.wire_len();
    if (auto it = memo_.find(&v); it != memo_.end()) return it->second;
    Value* out = compute(v);
    memo_.emplace(&v, out);
    return out;
  }

  Value* compute(const ir::Value& v) {
    switch (v.kind) {
      case ir::Value::Kind::Const:
      case ir::Value::Kind::Len: return value(v);
      case ir::Value::Kind::Neg: return b_.CreateNeg(value(*v.a), "neg");
      case ir::Value::Kind::Load: return b_.packet_load(v.a ? value(*v.a) : nullptr, v.k, v.size);
      case ir::Value::Kind::SelectEq: {
        Value* a = value(*v.a);
        Value* c = value(*v.b);
        Value* t = value(*v.c);
        Value* f = value(*v.d);
        return b_.CreateSelect(b_.CreateICmpEQ(a, c), t, f, "select");
      }
      case ir::Value::Kind::ProtoChain:
        return b_.protochain(v.ip6, v.k, v.target, chain_tests_[&v] > 1);
      case ir::Value::Kind::Binary: return binary(v);
    }
    return nullptr;
  }

  Value* binary(const ir::Value& v) {
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
    return nullptr;
  }

  // Runs at least this long become a switch; shorter ones stay compares,
  // which LLVM folds the byte order into.
  static constexpr size_t kSwitchRun = 4;

  static bool eq_const(const Dag::Node& x) {
    return x.op == ir::CmpOp::Eq && x.b->kind == ir::Value::Kind::Const;
  }

  // The tests from n on that compare one value with constants, each the
  // previous one's false edge and entered only from it: what a list of
  // ports or hosts becomes once the DAG has grouped its terms by field.
  std::vector<int> eq_run(int n) {
    std::vector<int> run;
    if (!eq_const(d_.nodes[n])) return run;
    uint32_t field = ids_.id(d_.nodes[n].a);
    for (int i = n; !d_.leaf(i) && eq_const(d_.nodes[i]); i = d_.nodes[i].f) {
      if (ids_.id(d_.nodes[i].a) != field || (i != n && preds_[i] != 1)) break;
      run.push_back(i);
    }
    return run;
  }

  // One load, then LLVM's switch lowering (ranges, bit tests, a balanced
  // tree): a packet goes through ~log2(n) compares instead of n. The first
  // of equal constants wins, as in the chain.
  void emit_switch(const std::vector<int>& run) {
    Value* a = value(*d_.nodes[run[0]].a);
    SwitchInst* sw = b_.CreateSwitch(a, block(d_.nodes[run.back()].f), unsigned(run.size()));
    std::unordered_set<uint32_t> seen;
    for (int i : run)
      if (seen.insert(d_.nodes[i].b->k).second)
        sw->addCase(b_.getInt32(d_.nodes[i].b->k), block(d_.nodes[i].t));
  }

  void emit_test(int n) {
    const Dag::Node& x = d_.nodes[n];
    b_.SetInsertPoint(blocks_[n]);
    memo_.clear();
    if (auto run = eq_run(n); run.size() >= kSwitchRun) {
      emit_switch(run);
      return;
    }
    Value* a = value(*x.a);
    Value* c = value(*x.b);
    Value* cond = nullptr;  // set by every case: GCC cannot see it
    switch (x.op) {
      case ir::CmpOp::Eq: cond = b_.CreateICmpEQ(a, c, "eq"); break;
      case ir::CmpOp::Gt: cond = b_.CreateICmpUGT(a, c, "gt"); break;
      case ir::CmpOp::Ge: cond = b_.CreateICmpUGE(a, c, "ge"); break;
      case ir::CmpOp::Set:
        cond = b_.CreateICmpNE(b_.CreateAnd(a, c, "bits"), b_.getInt32(0), "set");
        break;
    }
    b_.CreateCondBr(cond, block(x.t), block(x.f));
  }

  IRBuilderBPF& b_;
  const Dag& d_;
  Function* fn_;
  std::map<int, BasicBlock*> blocks_;
  std::vector<int> work_;
  std::unordered_map<const ir::Value*, Value*> memo_;
  std::unordered_map<const ir::Value*, int> chain_tests_;
  ir::ValueIds ids_;
  std::vector<int> preds_;
};

// The filter: one global, never inlined BPF function, so the same machine
// code runs in `dropfilter --dump-bpf`, the test harness and the probe.
Expected<void> define_filter(Module& m, const FilterDef& f, uint32_t capacity) {
  LLVMContext& c = m.getContext();
  FunctionType* ft =
      FunctionType::get(Type::getInt32Ty(c),
                        {PointerType::get(c, 0), Type::getInt32Ty(c), Type::getInt32Ty(c)}, false);
  Function* fn = m.getFunction(f.name);
  if (!fn) fn = Function::Create(ft, Function::ExternalLinkage, f.name, m);
  fn->addFnAttr(Attribute::NoInline);
  fn->addFnAttr(Attribute::NoUnwind);  // no .eh_frame in a BPF object
  IRBuilderBPF b(fn, capacity);
  if (f.body) {
    f.body(b);
  } else if (auto ok = DagEmitter(b, *f.dag, fn).emit(); !ok) {
    fn->deleteBody();
    return ok;
  }
  describe(m, fn, capacity);
  // Calls into functions with debug info (the protochain walks) need a
  // location of their own.
  for (BasicBlock& bb : *fn)
    for (Instruction& i : bb)
      if (auto* call = dyn_cast<CallInst>(&i); call && !call->getDebugLoc())
        call->setDebugLoc(DILocation::get(c, 0, 0, fn->getSubprogram()));
  return {};
}

}  // namespace

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
  DICompositeType* arr = dib.createArrayType(
      bytes * 8, 8, u8, dib.getOrCreateArray({dib.getOrCreateSubrange(0, bytes)}));
  DIDerivedType* member =
      dib.createMemberType(cu, "bytes", file, 0, bytes * 8, 8, 0, DINode::FlagZero, arr);
  DICompositeType* buf =
      dib.createStructType(cu, "dw_filter_buf", file, 0, bytes * 8, 8, DINode::FlagZero, nullptr,
                           dib.getOrCreateArray({member}));
  DIDerivedType* ptr = dib.createPointerType(buf, 64);
  DISubroutineType* type = dib.createSubroutineType(dib.getOrCreateTypeArray({i32, ptr, u32, u32}));
  // A static function (a protochain walk) is verified inside its caller.
  auto flags = DISubprogram::SPFlagDefinition;
  if (fn->hasLocalLinkage()) flags |= DISubprogram::SPFlagLocalToUnit;
  DISubprogram* sp = dib.createFunction(cu, fn->getName(), fn->getName(), file, 0, type, 0,
                                        DINode::FlagPrototyped, flags);
  fn->setSubprogram(sp);
  const char* names[] = {"data", "caplen", "wirelen"};
  DIType* types[] = {ptr, u32, u32};
  for (unsigned i = 0; i < 3; i++)
    dib.createParameterVariable(sp, names[i], i + 1, file, 0, types[i], true);
  dib.finalize();
}

Expected<void> define_filters(Module& m, const std::vector<FilterDef>& filters, uint32_t capacity) {
  for (const FilterDef& f : filters)
    if (auto ok = define_filter(m, f, capacity); !ok) return ok;
  return {};
}

}  // namespace dw::filter::llvm_stage
