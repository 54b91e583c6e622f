// Stage 7: LLVM module -> BPF ELF object, in memory.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <llvm/IR/LegacyPassManager.h>
#include <llvm/IR/Verifier.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/ErrorHandling.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetOptions.h>
#include <llvm/Transforms/InstCombine/InstCombine.h>
#include <llvm/Transforms/Scalar/EarlyCSE.h>
#include <llvm/Transforms/Scalar/SimplifyCFG.h>
#include <llvm/Transforms/Utils/Mem2Reg.h>

#include <cerrno>
#include <cstring>
#include <mutex>

#include "compiler/codegen_llvm.h"

namespace dw::filter {
namespace llvm_stage {
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

Expected<std::vector<uint8_t>> emit_in_process(Module& m, TargetMachine& tm) {
  SmallVector<char, 0> buf;
  raw_svector_ostream os(buf);
  legacy::PassManager pm;
  if (tm.addPassesToEmitFile(pm, os, nullptr, CodeGenFileType::ObjectFile))
    return error({}, "internal error: the BPF target cannot emit objects");
  pm.run(m);
  return std::vector<uint8_t>(buf.begin(), buf.end());
}

// eBPF jumps have 16-bit offsets (cpu v3), and LLVM's BPF backend ends the
// process with a fatal error when one does not fit. A function small enough
// cannot have such a jump: a BPF instruction per LLVM instruction is rare,
// more than 8 never happens.
constexpr size_t kSafeInstructions = 32767 / 8;

bool surely_fits(const Module& m) {
  for (const Function& f : m)
    if (f.getInstructionCount() > kSafeInstructions) return false;
  return true;
}

int g_fatal_fd = -1;  // the child's pipe, for LLVM's fatal error handler

void on_fatal(void*, const char* reason, bool) {
  std::string msg = std::string("\1") + reason;
  if (write(g_fatal_fd, msg.data(), msg.size()) < 0) _exit(3);
  _exit(3);
}

// Larger functions are emitted in a child process: a fatal error there
// ends only the child, and becomes an error here.
Expected<std::vector<uint8_t>> emit_isolated(Module& m, TargetMachine& tm) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0)
    return error({}, std::string("cannot compile the filter: pipe: ") + std::strerror(errno));
  pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return error({}, std::string("cannot compile the filter: fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    close(fds[0]);
    g_fatal_fd = fds[1];
    install_fatal_error_handler(on_fatal, nullptr);
    auto obj = emit_in_process(m, tm);
    std::string out = obj ? std::string("\0", 1) + std::string(obj->begin(), obj->end())
                          : "\1" + obj.error().message;
    for (size_t off = 0; off < out.size();) {
      ssize_t n = write(fds[1], out.data() + off, out.size() - off);
      if (n <= 0) _exit(2);
      off += size_t(n);
    }
    _exit(0);
  }
  close(fds[1]);
  std::string got;
  char buf[65536];
  for (ssize_t n; (n = read(fds[0], buf, sizeof(buf))) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    got.append(buf, size_t(n));
  }
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!got.empty() && got[0] == '\0' && WIFEXITED(status) && WEXITSTATUS(status) == 0)
    return std::vector<uint8_t>(got.begin() + 1, got.end());
  std::string why = !got.empty() && got[0] == '\1' ? got.substr(1) : "the code generator failed";
  if (why.find("out of insn range") != std::string::npos)
    return error({},
                 "expression too complex: its eBPF code needs jumps longer than the 32767 "
                 "instructions eBPF allows");
  return error({}, "expression too complex: " + why);
}

}  // namespace

std::unique_ptr<TargetMachine> target_machine() {
  init_llvm();
  std::string err;
  const Target* t = TargetRegistry::lookupTarget(kTriple, err);
  if (!t) return nullptr;
  TargetOptions opts;
  return std::unique_ptr<TargetMachine>(t->createTargetMachine(
      kTriple, "v3", "", opts, Reloc::PIC_, std::nullopt, CodeGenOptLevel::Aggressive));
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

// Above this many LLVM instructions in one function (a list of a hundred
// host-and-port pairs has ~9,000) O2 costs several times tcpdump's whole
// compile and finds little: the DAG is already libpcap's optimized one.
// Such modules get a short pipeline (common loads, folding, CFG cleanup).
constexpr unsigned kShortPipelineAbove = 4000;

bool large(const Module& m) {
  for (const Function& f : m)
    if (f.getInstructionCount() > kShortPipelineAbove) return true;
  return false;
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
  if (large(m)) {
    FunctionPassManager fpm;
    fpm.addPass(PromotePass());
    fpm.addPass(EarlyCSEPass(/*UseMemorySSA=*/false));
    fpm.addPass(InstCombinePass());
    fpm.addPass(SimplifyCFGPass());
    for (Function& f : m)
      if (!f.isDeclaration()) fpm.run(f, fam);
    return;
  }
  ModulePassManager mpm = pb.buildPerModuleDefaultPipeline(OptimizationLevel::O2);
  mpm.run(m, mam);
}

Expected<std::vector<uint8_t>> emit_object(Module& m, TargetMachine& tm) {
  std::string verr;
  raw_string_ostream vs(verr);
  if (verifyModule(m, &vs)) return error({}, "internal error: invalid LLVM IR: " + verr);
  return surely_fits(m) ? emit_in_process(m, tm) : emit_isolated(m, tm);
}

std::string dump(const Module& m) {
  std::string s;
  raw_string_ostream os(s);
  m.print(os, nullptr);
  return s;
}

}  // namespace llvm_stage

Expected<std::vector<uint8_t>> compile_filters(const std::vector<FilterDef>& filters,
                                               const ObjectOptions& opts) {
  auto tm = llvm_stage::target_machine();
  if (!tm) return error({}, "internal error: libLLVM has no BPF target");
  llvm::LLVMContext ctx;
  // Names are for --dump-llvm; a hundred-term list has thousands of them.
  ctx.setDiscardValueNames(opts.llvm_ir == nullptr);
  llvm::Module m("dropfilter", ctx);
  m.setTargetTriple(llvm_stage::kTriple);
  m.setDataLayout(tm->createDataLayout());
  if (auto ok = llvm_stage::define_filters(m, filters, opts.capacity); !ok)
    return std::unexpected(ok.error());
  if (opts.optimize_filters)
    llvm_stage::optimize(m, *tm);
  else
    llvm_stage::promote_only(m);
  if (opts.llvm_ir) *opts.llvm_ir = llvm_stage::dump(m);
  return llvm_stage::emit_object(m, *tm);
}

}  // namespace dw::filter
