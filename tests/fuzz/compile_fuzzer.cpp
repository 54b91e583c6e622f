// libFuzzer target: arbitrary bytes as a filter expression through the whole
// front end for both link types, and through LLVM code generation when the
// expression compiles. No crash, no hang, bounded memory (scripts/fuzz runs
// it with -timeout and -rss_limit_mb: a blow-up is a finding).
//
// Bytes alone rarely make a long well-formed expression: two million byte
// mutations never produced `geneve or geneve or geneve or geneve`, whose
// compile was exponential. A grammar-aware mutator (below) works on whole
// primitives instead: it repeats the expression with and/or, nests it under
// parentheses and `not`, joins or swaps in primitives; one time in three it
// leaves the bytes to libFuzzer's own mutations.
//   scripts/fuzz [SECONDS]
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "compiler/codegen.h"
#include "compiler/pipeline.h"

extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size);

namespace {

// Primitives that change the offsets of what follows them, or that are
// costly to compile, with the ordinary ones around them.
const char* const kPrimitives[] = {"geneve",
                                   "geneve 7",
                                   "vlan",
                                   "vlan 100",
                                   "mpls",
                                   "mpls 3",
                                   "pppoes",
                                   "pppoes 2",
                                   "ip6 protochain 6",
                                   "ip protochain 17",
                                   "protochain 51",
                                   "tcp port 80",
                                   "udp port 53",
                                   "host 10.0.0.1",
                                   "net 10.0.0.0/8",
                                   "ether host 00:11:22:33:44:55",
                                   "ip[0] & 0xf > 5",
                                   "len >= 100",
                                   "tcp[tcpflags] & tcp-syn != 0",
                                   "icmp6",
                                   "arp",
                                   "ether[12:2] = 0x800",
                                   "llc",
                                   "ip6 net 2001:db8::/32",
                                   "portrange 1-1024",
                                   "ip broadcast",
                                   "ether multicast",
                                   "ip[ip[0] & 0xf] = 1",
                                   "1 + 2 * len - 3 = 4",
                                   "udp[8:4] % 3 = 1",
                                   "not tcp"};

std::string pick(std::mt19937& rng) { return kPrimitives[rng() % std::size(kPrimitives)]; }

std::vector<std::string> words(const std::string& e) {
  std::vector<std::string> w;
  size_t i = 0;
  while (i < e.size()) {
    size_t j = e.find(' ', i);
    if (j == std::string::npos) j = e.size();
    if (j > i) w.push_back(e.substr(i, j - i));
    i = j + 1;
  }
  return w;
}

std::string grammar_mutate(const std::string& e, std::mt19937& rng) {
  const char* op = rng() % 2 ? " or " : " and ";
  switch (rng() % 6) {
    case 0: return e.empty() ? pick(rng) : e + op + e;  // 1, 2, 4, 8 geneves
    case 1: return rng() % 2 ? "(" + e + ")" : "not " + e;
    case 2: return e.empty() ? pick(rng) : e + op + pick(rng);
    case 3: return pick(rng) + op + (e.empty() ? pick(rng) : e);
    case 4: {
      auto w = words(e);
      if (w.empty()) return pick(rng);
      w[rng() % w.size()] = pick(rng);
      std::string out;
      for (const auto& x : w) out += (out.empty() ? "" : " ") + x;
      return out;
    }
    default: return "(" + e + ")" + op + "(" + pick(rng) + ")";
  }
}

}  // namespace

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size,
                                          unsigned int seed) {
  std::mt19937 rng(seed);
  if (rng() % 3 == 0) return LLVMFuzzerMutate(data, size, max_size);
  std::string e = grammar_mutate(std::string(reinterpret_cast<char*>(data), size), rng);
  if (e.size() > max_size) return LLVMFuzzerMutate(data, size, max_size);
  std::memcpy(data, e.data(), e.size());
  return e.size();
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;
  std::string expr(reinterpret_cast<const char*>(data), size);
  for (auto link : {dw::filter::LinkType::Ethernet, dw::filter::LinkType::RawIp}) {
    auto fe = dw::filter::compile_front(expr, {link});
    if (!fe) {
      (void)fe.error().render(expr);
      continue;
    }
    // Code generation is slow next to parsing; exercise it on small programs.
    if (fe->dag.tests() < 64) (void)dw::filter::compile_filters({{"dw_filter", &fe->dag}}, {});
  }
  return 0;
}
