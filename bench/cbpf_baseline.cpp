#include "bench/cbpf_baseline.h"
#include "bench/cbpf_probe.h"
#include "bpf/bitcode.h"
#include "bpf/dropwatch_abi.h"
#include "compiler/link.h"

#include <llvm/IR/IRBuilder.h>

#include <map>
#include <set>

#include "compiler/irbuilder_bpf.h"

namespace dw::bench {
namespace {

using namespace llvm;

void translate(filter::IRBuilderBPF& b, const bpf_program* prog) {
  const bpf_insn* in = prog->bf_insns;
  unsigned n = prog->bf_len;
  Function* fn = b.GetInsertBlock()->getParent();
  LLVMContext& c = b.getContext();
  // Registers as allocas in the entry block, where mem2reg can promote them.
  IRBuilder<> entry(&fn->getEntryBlock(), fn->getEntryBlock().getFirstInsertionPt());
  Value* a = entry.CreateAlloca(b.getInt32Ty(), nullptr, "A");
  Value* x = entry.CreateAlloca(b.getInt32Ty(), nullptr, "X");
  Value* mem = entry.CreateAlloca(ArrayType::get(b.getInt32Ty(), BPF_MEMWORDS), nullptr, "M");
  b.CreateStore(b.getInt32(0), a);
  b.CreateStore(b.getInt32(0), x);
  std::vector<BasicBlock*> blocks(n);
  for (unsigned i = 0; i < n; i++) blocks[i] = BasicBlock::Create(c, "i" + std::to_string(i), fn);
  b.CreateBr(blocks[0]);
  auto slot = [&](uint32_t k) { return b.CreateGEP(b.getInt32Ty(), mem, b.getInt32(k)); };
  for (unsigned i = 0; i < n; i++) {
    const bpf_insn& s = in[i];
    b.SetInsertPoint(blocks[i]);
    auto next = [&] { b.CreateBr(blocks[i + 1]); };
    uint8_t size = BPF_SIZE(s.code) == BPF_W ? 4 : BPF_SIZE(s.code) == BPF_H ? 2 : 1;
    switch (BPF_CLASS(s.code)) {
      case BPF_LD:
        switch (BPF_MODE(s.code)) {
          case BPF_ABS: b.CreateStore(b.packet_load(nullptr, s.k, size), a); break;
          case BPF_IND:
            b.CreateStore(b.packet_load(b.CreateLoad(b.getInt32Ty(), x), s.k, size), a);
            break;
          case BPF_LEN: b.CreateStore(b.wire_len(), a); break;
          case BPF_IMM: b.CreateStore(b.getInt32(s.k), a); break;
          case BPF_MEM: b.CreateStore(b.CreateLoad(b.getInt32Ty(), slot(s.k)), a); break;
        }
        next();
        break;
      case BPF_LDX:
        switch (BPF_MODE(s.code)) {
          case BPF_IMM: b.CreateStore(b.getInt32(s.k), x); break;
          case BPF_MEM: b.CreateStore(b.CreateLoad(b.getInt32Ty(), slot(s.k)), x); break;
          case BPF_LEN: b.CreateStore(b.wire_len(), x); break;
          case BPF_MSH: {
            Value* v = b.packet_load(nullptr, s.k, 1);
            b.CreateStore(b.CreateShl(b.CreateAnd(v, b.getInt32(0xf)), b.getInt32(2)), x);
            break;
          }
        }
        next();
        break;
      case BPF_ST:
        b.CreateStore(b.CreateLoad(b.getInt32Ty(), a), slot(s.k));
        next();
        break;
      case BPF_STX:
        b.CreateStore(b.CreateLoad(b.getInt32Ty(), x), slot(s.k));
        next();
        break;
      case BPF_ALU: {
        Value* av = b.CreateLoad(b.getInt32Ty(), a);
        Value* bv =
            BPF_SRC(s.code) == BPF_X ? (Value*)b.CreateLoad(b.getInt32Ty(), x) : b.getInt32(s.k);
        Value* r = nullptr;
        switch (BPF_OP(s.code)) {
          case BPF_ADD: r = b.CreateAdd(av, bv); break;
          case BPF_SUB: r = b.CreateSub(av, bv); break;
          case BPF_MUL: r = b.CreateMul(av, bv); break;
          case BPF_DIV: r = b.checked_div(av, bv, false); break;
          case BPF_MOD: r = b.checked_div(av, bv, true); break;
          case BPF_AND: r = b.CreateAnd(av, bv); break;
          case BPF_OR: r = b.CreateOr(av, bv); break;
          case BPF_XOR: r = b.CreateXor(av, bv); break;
          case BPF_LSH: r = b.shift(av, bv, true); break;
          case BPF_RSH: r = b.shift(av, bv, false); break;
          case BPF_NEG: r = b.CreateNeg(av); break;
        }
        b.CreateStore(r, a);
        next();
        break;
      }
      case BPF_JMP: {
        if (BPF_OP(s.code) == BPF_JA) {
          b.CreateBr(blocks[i + 1 + s.k]);
          break;
        }
        Value* av = b.CreateLoad(b.getInt32Ty(), a);
        Value* bv =
            BPF_SRC(s.code) == BPF_X ? (Value*)b.CreateLoad(b.getInt32Ty(), x) : b.getInt32(s.k);
        Value* cond = nullptr;
        switch (BPF_OP(s.code)) {
          case BPF_JEQ: cond = b.CreateICmpEQ(av, bv); break;
          case BPF_JGT: cond = b.CreateICmpUGT(av, bv); break;
          case BPF_JGE: cond = b.CreateICmpUGE(av, bv); break;
          case BPF_JSET: cond = b.CreateICmpNE(b.CreateAnd(av, bv), b.getInt32(0)); break;
        }
        b.CreateCondBr(cond, blocks[i + 1 + s.jt], blocks[i + 1 + s.jf]);
        break;
      }
      case BPF_RET: {
        Value* v =
            BPF_RVAL(s.code) == BPF_A ? (Value*)b.CreateLoad(b.getInt32Ty(), a) : b.getInt32(s.k);
        b.CreateCondBr(b.CreateICmpNE(v, b.getInt32(0)), b.accept(), b.reject());
        break;
      }
      case BPF_MISC:
        if (BPF_MISCOP(s.code) == BPF_TAX)
          b.CreateStore(b.CreateLoad(b.getInt32Ty(), a), x);
        else
          b.CreateStore(b.CreateLoad(b.getInt32Ty(), x), a);
        next();
        break;
    }
  }
}

}  // namespace

filter::FilterDef cbpf_filter(const bpf_program* prog) {
  filter::FilterDef d{"dw_filter", nullptr};
  d.body = [prog](filter::IRBuilderBPF& b) { translate(b, prog); };
  return d;
}

}  // namespace dw::bench

namespace dw::bench {

filter::Expected<std::vector<uint8_t>> link_probe_cbpf(const std::string& expr,
                                                       std::span<const RodataValue> rodata) {
  // Kept for the process's life: the translated bodies refer to them.
  static bpf_program link{}, net{};
  pcap_t* eth = pcap_open_dead(DLT_EN10MB, 65535);
  pcap_t* raw = pcap_open_dead(DLT_RAW, 65535);
  bool bad = pcap_compile(eth, &link, expr.c_str(), 1, PCAP_NETMASK_UNKNOWN) ||
             pcap_compile(raw, &net, expr.c_str(), 1, PCAP_NETMASK_UNKNOWN);
  pcap_close(eth);
  pcap_close(raw);
  if (bad) return filter::error({}, "libpcap cannot compile " + expr);
  filter::FilterDef a = cbpf_filter(&link), b = cbpf_filter(&net);
  a.name = filter::kProbeLinkEntry;
  b.name = filter::kProbeNetEntry;
  filter::ObjectOptions oo;
  oo.capacity = DW_SNAPLEN_MAX;
  oo.optimize_filters = false;
  return filter::link_program(bpf::probe_bitcode(), {a, b}, oo, rodata);
}

}  // namespace dw::bench
