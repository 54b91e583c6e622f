#include "compiler/irbuilder_bpf.h"

namespace dw::filter {

using namespace llvm;

IRBuilderBPF::IRBuilderBPF(Function* fn, uint32_t capacity)
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
  CreateRet(getInt32(0));
  SetInsertPoint(accept_);
  CreateRet(getInt32(1));
  SetInsertPoint(entry);
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

}  // namespace dw::filter
