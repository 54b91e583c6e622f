// bpftool-style listing of a function in a BPF ELF object (dropfilter
// --dump-bpf, tests, bench):
//    0: (71) r2 = *(u8 *)(r1 + 12)
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace dw::filter {

// `count`, when given, receives the number of instructions. The functions
// a filter calls (its protochain walks, dw_chain_*) follow it, each under
// its name, and are counted.
std::string disassemble(std::span<const uint8_t> elf, const std::string& function,
                        size_t* count = nullptr);

}  // namespace dw::filter
