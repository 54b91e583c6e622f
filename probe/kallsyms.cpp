#include "probe/kallsyms.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace dw::probe {

Result<Kallsyms> Kallsyms::load(const std::string& path) {
  std::ifstream in(path);
  if (!in) return fail("cannot read " + path + " to name kernel functions");
  Kallsyms k = parse(in);
  if (k.syms_.empty() || k.syms_.back().addr == 0)
    return fail(path + " shows no addresses: run as root or set kernel.kptr_restrict=0");
  return k;
}

Kallsyms Kallsyms::parse(std::istream& in) {
  Kallsyms k;
  std::string line;
  while (std::getline(in, line)) {
    // "ffffffff81a2b3c0 T tcp_v4_rcv" or "... t ovs_vport_receive\t[openvswitch]"
    size_t sp1 = line.find(' ');
    if (sp1 == std::string::npos || sp1 + 3 > line.size()) continue;
    char type = line[sp1 + 1];
    if (type != 't' && type != 'T' && type != 'w' && type != 'W') continue;
    uint64_t addr = std::strtoull(line.substr(0, sp1).c_str(), nullptr, 16);
    std::string rest = line.substr(sp1 + 3);
    std::string module;
    if (size_t tab = rest.find('\t'); tab != std::string::npos) {
      module = rest.substr(tab + 1);
      rest.resize(tab);
      if (module.size() >= 2 && module.front() == '[' && module.back() == ']')
        module = module.substr(1, module.size() - 2);
    }
    k.syms_.push_back({addr, std::move(rest), std::move(module)});
  }
  std::stable_sort(k.syms_.begin(), k.syms_.end(),
                   [](const Symbol& a, const Symbol& b) { return a.addr < b.addr; });
  return k;
}

const Kallsyms::Symbol* Kallsyms::find(uint64_t addr) const {
  auto it = std::upper_bound(syms_.begin(), syms_.end(), addr,
                             [](uint64_t a, const Symbol& s) { return a < s.addr; });
  if (it == syms_.begin()) return nullptr;
  return &*std::prev(it);
}

const std::string& Kallsyms::symbolize(uint64_t addr) const {
  if (auto it = cache_.find(addr); it != cache_.end()) return it->second;
  char buf[64];
  std::string out;
  if (const Symbol* s = find(addr); s && s->addr != 0) {
    std::snprintf(buf, sizeof(buf), "+0x%" PRIx64, addr - s->addr);
    out = s->name + buf;
    if (!s->module.empty()) out += " [" + s->module + "]";
  } else {
    std::snprintf(buf, sizeof(buf), "0x%" PRIx64, addr);
    out = buf;
  }
  return cache_.emplace(addr, std::move(out)).first->second;
}

}  // namespace dw::probe
