// Kernel symbolization from /proc/kallsyms: "func+0xoff", cached per address.
#pragma once

#include <cstdint>
#include <istream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/result.h"

namespace dw::probe {

class Kallsyms {
 public:
  struct Symbol {
    uint64_t addr;
    std::string name;
    std::string module;  // empty for the core kernel
  };

  static Result<Kallsyms> load(const std::string& path = "/proc/kallsyms");
  // Text symbols only (types t/T/w/W); input in any order.
  static Kallsyms parse(std::istream& in);

  // Nearest symbol at or below addr, or nullptr.
  const Symbol* find(uint64_t addr) const;
  // "tcp_v4_rcv+0x91", "ovs_dp_process_packet+0x1c [openvswitch]" (as %pS), "0xffff..." when
  // unknown.
  const std::string& symbolize(uint64_t addr) const;
  size_t size() const { return syms_.size(); }
  // [start, next symbol's start) of every symbol `pred` accepts.
  template <typename Pred>
  std::vector<std::pair<uint64_t, uint64_t>> ranges(Pred pred) const {
    std::vector<std::pair<uint64_t, uint64_t>> out;
    for (size_t i = 0; i + 1 < syms_.size(); i++)
      if (syms_[i + 1].addr > syms_[i].addr && pred(syms_[i]))
        out.emplace_back(syms_[i].addr, syms_[i + 1].addr);
    return out;
  }

 private:
  std::vector<Symbol> syms_;  // sorted by addr
  mutable std::unordered_map<uint64_t, std::string> cache_;
};

}  // namespace dw::probe
