// bpftool-style listing of a function in a BPF object, with LLVM's
// disassembler. A file of its own: the object-file headers do not build
// as C++23 under clang, so this one is compiled as C++20.
#include <llvm/MC/MCAsmInfo.h>
#include <llvm/MC/MCContext.h>
#include <llvm/MC/MCDisassembler/MCDisassembler.h>
#include <llvm/MC/MCInst.h>
#include <llvm/MC/MCInstPrinter.h>
#include <llvm/MC/MCInstrInfo.h>
#include <llvm/MC/MCRegisterInfo.h>
#include <llvm/MC/MCSubtargetInfo.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/Object/ELFObjectFile.h>
#include <llvm/Object/ObjectFile.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <span>
#include <string>
#include <vector>

namespace dw::filter {

using namespace llvm;

std::string disassemble(std::span<const uint8_t> elf, const std::string& function, size_t* count) {
  static std::once_flag once;
  std::call_once(once, [] {
    LLVMInitializeBPFTargetInfo();
    LLVMInitializeBPFTargetMC();
    LLVMInitializeBPFDisassembler();
  });
  auto buf = MemoryBuffer::getMemBuffer(
      StringRef(reinterpret_cast<const char*>(elf.data()), elf.size()), "filter.o", false);
  auto obj = object::ObjectFile::createObjectFile(buf->getMemBufferRef());
  if (!obj) {
    consumeError(obj.takeError());
    return "";
  }
  std::string err;
  const Target* t = TargetRegistry::lookupTarget("bpfel", err);
  std::unique_ptr<MCRegisterInfo> mri(t->createMCRegInfo("bpfel"));
  MCTargetOptions mcopts;
  std::unique_ptr<MCAsmInfo> mai(t->createMCAsmInfo(*mri, "bpfel", mcopts));
  std::unique_ptr<MCSubtargetInfo> sti(t->createMCSubtargetInfo("bpfel", "v3", ""));
  std::unique_ptr<MCInstrInfo> mii(t->createMCInstrInfo());
  MCContext mc(Triple("bpfel"), mai.get(), mri.get(), sti.get());
  std::unique_ptr<MCDisassembler> dis(t->createMCDisassembler(*sti, mc));
  std::unique_ptr<MCInstPrinter> printer(
      t->createMCInstPrinter(Triple("bpfel"), 0, *mai, *mii, *mri));
  std::string out;
  size_t n = 0;
  auto list = [&](const object::SymbolRef& sym) {
    auto sec = sym.getSection();
    auto addr = sym.getValue();
    if (!sec || !addr) return;
    auto contents = (*sec)->getContents();
    if (!contents) return;
    uint64_t size = object::ELFSymbolRef(sym).getSize();
    ArrayRef<uint8_t> bytes(reinterpret_cast<const uint8_t*>(contents->data()) + *addr, size);
    for (uint64_t off = 0; off < bytes.size();) {
      MCInst inst;
      uint64_t len = 0;
      if (dis->getInstruction(inst, len, bytes.slice(off), off, nulls()) !=
          MCDisassembler::Success) {
        len = 8;
      }
      std::string text;
      raw_string_ostream ts(text);
      printer->printInst(&inst, off, "", *sti, ts);
      ts.flush();
      size_t start = text.find_first_not_of(" \t");
      text = start == std::string::npos ? text : text.substr(start);
      char head[32];
      std::snprintf(head, sizeof(head), "%4llu: (%02x) ", (unsigned long long)(off / 8),
                    bytes[off]);
      out += head + text + "\n";
      off += len;
      n++;
    }
  };
  std::vector<std::pair<std::string, object::SymbolRef>> walks;
  for (const object::SymbolRef& sym : (*obj)->symbols()) {
    auto name = sym.getName();
    if (!name) {
      consumeError(name.takeError());
      continue;
    }
    if (*name == function) list(sym);
    if (name->starts_with("dw_chain_")) walks.push_back({name->str(), sym});
  }
  std::sort(walks.begin(), walks.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [name, sym] : walks) {
    out += name + ":\n";
    list(sym);
  }
  if (count) *count = n;
  return out;
}

}  // namespace dw::filter
