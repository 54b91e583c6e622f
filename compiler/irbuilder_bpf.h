// The one place that knows how a filter touches BPF: bounded packet loads
// the verifier can follow, division and shifts with libpcap's semantics.
// Values and blocks carry names so --dump-llvm reads like the IR it came from.
#pragma once

#include <llvm/IR/IRBuilder.h>

#include <cstdint>

namespace dw::filter {

class IRBuilderBPF : public llvm::IRBuilder<> {
 public:
  // `fn` is `i32 (ptr data, i32 caplen, i32 wirelen)`; `capacity` is the
  // size of the buffer `data` points into, a power of two: loads are masked
  // with it so the verifier can bound them without knowing caplen. The
  // reject block returns `reject_value` (a helper's "reject" sentinel).
  IRBuilderBPF(llvm::Function* fn, uint32_t capacity, uint32_t reject_value = 0);

  llvm::BasicBlock* reject() const { return reject_; }
  llvm::BasicBlock* accept() const { return accept_; }
  llvm::Value* wire_len() const { return wirelen_; }

  // Big-endian `size`-byte load at packet offset base + k (base may be null,
  // else i32). Past caplen: branch to reject, as cBPF does.
  //   if (zext(base) + k + size > caplen) return 0;
  //   v = be(data[(zext(base) + k) & (capacity - 1)])
  llvm::Value* packet_load(llvm::Value* base, uint32_t k, uint8_t size);
  // a / b and a % b, rejecting the packet when b == 0 (cBPF returns 0).
  llvm::Value* checked_div(llvm::Value* a, llvm::Value* b, bool rem);
  // a << b and a >> b, 0 when b >= 32 (libpcap's bpf_filter).
  llvm::Value* shift(llvm::Value* a, llvm::Value* b, bool left);
  // libpcap's protochain walk (ir::protochain), unrolled for the verifier.
  // `shared`: several tests need it, so it goes in a static BPF function of
  // its own (dw_chain_*) that each calls: ~600 instructions once, not once
  // a test (alone, inline is ~80 instructions shorter).
  llvm::Value* protochain(bool ip6, uint32_t net, uint32_t target, bool shared);

  // What a walk function returns for "a load was past the capture".
  static constexpr uint32_t kChainRejected = 0xffffffff;

 private:
  llvm::Value* protochain_here(bool ip6, uint32_t net, uint32_t target);

  llvm::Function* fn_;
  llvm::Value* data_;
  llvm::Value* caplen_;
  llvm::Value* wirelen_;
  uint32_t capacity_;
  llvm::BasicBlock* reject_;
  llvm::BasicBlock* accept_;
  unsigned counter_ = 0;
};

}  // namespace dw::filter
