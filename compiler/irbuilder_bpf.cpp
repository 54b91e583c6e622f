#include "compiler/irbuilder_bpf.h"

#include "compiler/codegen_llvm.h"
#include "compiler/ir.h"

#include <llvm/IR/InlineAsm.h>

namespace dw::filter {

using namespace llvm;

IRBuilderBPF::IRBuilderBPF(Function* fn, uint32_t capacity, uint32_t reject_value)
    : IRBuilder<>(fn->getContext()), fn_(fn), capacity_(capacity) {
  auto arg = fn->arg_begin();
  data_ = &*arg++;
  caplen_ = &*arg++;
  wirelen_ = &*arg;
  data_->setName("data");
  caplen_->setName("caplen");
  wirelen_->setName("wirelen");
  LLVMContext& c = fn->getContext();
  BasicBlock* entry = BasicBlock::Create(c, "entry", fn);
  reject_ = BasicBlock::Create(c, "reject", fn);
  accept_ = BasicBlock::Create(c, "accept", fn);
  SetInsertPoint(reject_);
  CreateRet(getInt32(reject_value));
  SetInsertPoint(accept_);
  CreateRet(getInt32(1));
  SetInsertPoint(entry);
  // Keep every argument alive: an argument the filter does not read would
  // let LLVM pass poison for it at call sites (dead-argument elimination),
  // and the verifier refuses a call with an uninitialised register.
  InlineAsm* keep = InlineAsm::get(
      FunctionType::get(getVoidTy(), {data_->getType(), getInt32Ty(), getInt32Ty()}, false), "",
      "r,r,r", /*hasSideEffects=*/true);
  CreateCall(keep, {data_, caplen_, wirelen_})->setDoesNotThrow();
  // As a global function the verifier lets `data` be NULL: rule it out first.
  BasicBlock* body = BasicBlock::Create(c, "body", fn);
  CreateCondBr(CreateIsNull(data_, "data.null"), reject_, body);
  SetInsertPoint(body);
}

Value* IRBuilderBPF::packet_load(Value* base, uint32_t k, uint8_t size) {
  std::string n = "pkt" + std::to_string(counter_++);
  Value* off = getInt64(k);
  if (base) off = CreateAdd(CreateZExt(base, getInt64Ty(), n + ".base"), off, n + ".off");
  Value* end = CreateAdd(off, getInt64(size), n + ".end");
  Value* cap = CreateZExt(caplen_, getInt64Ty(), "caplen64");
  Value* inside = CreateICmpULE(end, cap, n + ".inside");
  BasicBlock* ok = BasicBlock::Create(getContext(), n + ".ok", fn_);
  CreateCondBr(inside, ok, reject_);
  SetInsertPoint(ok);
  Value* idx = CreateAnd(off, getInt64(capacity_ - 1), n + ".idx");
  // One load of the full width, then to host order. Packet fields are not
  // aligned; BPF loads need not be (the verifier checks alignment only with
  // BPF_F_STRICT_ALIGNMENT, and the JITs of x86 and arm64 load unaligned),
  // so the natural alignment is claimed to keep LLVM from splitting the
  // load into bytes.
  Value* p = CreateGEP(getInt8Ty(), data_, idx, n + ".ptr");
  Type* ty = getIntNTy(size * 8);
  LoadInst* raw = CreateLoad(ty, p, n + ".raw");
  raw->setAlignment(Align(size));
  Value* v = raw;
  if (size > 1) v = CreateUnaryIntrinsic(Intrinsic::bswap, v, nullptr, n + ".be");
  return CreateZExtOrTrunc(v, getInt32Ty(), n);
}

Value* IRBuilderBPF::checked_div(Value* a, Value* b, bool rem) {
  BasicBlock* ok = BasicBlock::Create(getContext(), rem ? "mod.ok" : "div.ok", fn_);
  CreateCondBr(CreateICmpEQ(b, getInt32(0), "div.by.zero"), reject_, ok);
  SetInsertPoint(ok);
  return rem ? CreateURem(a, b, "mod") : CreateUDiv(a, b, "div");
}

Value* IRBuilderBPF::shift(Value* a, Value* b, bool left) {
  Value* small = CreateICmpULT(b, getInt32(32), "shift.small");
  Value* s = left ? CreateShl(a, b, "shl") : CreateLShr(a, b, "shr");
  return CreateSelect(small, s, getInt32(0), left ? "lsh" : "rsh");
}

Value* IRBuilderBPF::protochain(bool ip6, uint32_t net, uint32_t target, bool shared) {
  if (!shared) return protochain_here(ip6, net, target);
  Module& m = *fn_->getParent();
  std::string name = std::string("dw_chain_") + (ip6 ? "ip6_" : "ip_") + std::to_string(net) + "_" +
                     std::to_string(target);
  Function* walk = m.getFunction(name);
  if (!walk) {
    walk = Function::Create(fn_->getFunctionType(), Function::InternalLinkage, name, m);
    walk->addFnAttr(Attribute::NoInline);
    walk->addFnAttr(Attribute::NoUnwind);
    IRBuilderBPF w(walk, capacity_, kChainRejected);
    w.CreateRet(w.protochain_here(ip6, net, target));
    llvm_stage::describe(m, walk, capacity_);
  }
  Value* a = CreateCall(walk, {data_, caplen_, wirelen_}, "chain");
  BasicBlock* ok = BasicBlock::Create(getContext(), "chain.ok", fn_);
  CreateCondBr(CreateICmpEQ(a, getInt32(kChainRejected)), reject_, ok);
  SetInsertPoint(ok);
  return a;
}

Value* IRBuilderBPF::protochain_here(bool ip6, uint32_t net, uint32_t target) {
  LLVMContext& c = getContext();
  BasicBlock* done = BasicBlock::Create(c, "chain.done", fn_);
  Value *a, *x;
  if (ip6) {
    a = packet_load(nullptr, net + 6, 1);
    x = getInt32(40);
  } else {
    a = packet_load(nullptr, net + 9, 1);
    x = CreateShl(CreateAnd(packet_load(nullptr, net, 1), getInt32(0xf)), getInt32(2), "ihl");
  }
  // Every exit of every step feeds one phi in `done`.
  std::vector<std::pair<Value*, BasicBlock*>> exits;
  for (int step = 0; step < ir::kProtoChainSteps; step++) {
    std::string s = "chain" + std::to_string(step);
    Value* stop =
        CreateOr(CreateICmpEQ(a, getInt32(target)), CreateICmpEQ(a, getInt32(59)), s + ".stop");
    BasicBlock* go = BasicBlock::Create(c, s + ".go", fn_);
    exits.push_back({a, GetInsertBlock()});
    CreateCondBr(stop, done, go);
    SetInsertPoint(go);
    BasicBlock* ah = BasicBlock::Create(c, s + ".ah", fn_);
    BasicBlock* next = BasicBlock::Create(c, s + ".next", fn_);
    Value *a_ext = nullptr, *x_ext = nullptr;
    BasicBlock* ext_end = nullptr;
    if (ip6) {
      Value* is_ext = CreateOr(
          CreateOr(CreateICmpEQ(a, getInt32(0)), CreateICmpEQ(a, getInt32(60))),
          CreateOr(CreateICmpEQ(a, getInt32(43)), CreateICmpEQ(a, getInt32(44))), s + ".ext");
      BasicBlock* ext = BasicBlock::Create(c, s + ".ext", fn_);
      CreateCondBr(is_ext, ext, ah);
      SetInsertPoint(ext);
      a_ext = packet_load(x, net, 1);
      Value* len = packet_load(x, net + 1, 1);
      x_ext = CreateAdd(CreateMul(CreateAdd(len, getInt32(1)), getInt32(8)), x, s + ".x");
      ext_end = GetInsertBlock();
      CreateBr(next);
    } else {
      CreateBr(ah);
    }
    SetInsertPoint(ah);
    BasicBlock* is_ah = BasicBlock::Create(c, s + ".isah", fn_);
    exits.push_back({a, GetInsertBlock()});
    CreateCondBr(CreateICmpEQ(a, getInt32(51)), is_ah, done);
    SetInsertPoint(is_ah);
    Value* a_ah = packet_load(x, net, 1);
    Value* len = packet_load(CreateAdd(x, getInt32(1)), net, 1);
    Value* x_ah = CreateMul(CreateAdd(len, getInt32(2)), getInt32(4), s + ".xah");
    BasicBlock* ah_end = GetInsertBlock();
    CreateBr(next);
    SetInsertPoint(next);
    PHINode* pa = CreatePHI(getInt32Ty(), 2, s + ".a");
    PHINode* px = CreatePHI(getInt32Ty(), 2, s + ".xn");
    pa->addIncoming(a_ah, ah_end);
    px->addIncoming(x_ah, ah_end);
    if (ip6) {
      pa->addIncoming(a_ext, ext_end);
      px->addIncoming(x_ext, ext_end);
    }
    a = pa;
    x = px;
  }
  exits.push_back({a, GetInsertBlock()});
  CreateBr(done);
  SetInsertPoint(done);
  PHINode* result = CreatePHI(getInt32Ty(), exits.size(), "chain.last");
  for (auto [v, bb] : exits) result->addIncoming(v, bb);
  return result;
}

}  // namespace dw::filter
