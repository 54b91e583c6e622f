// libFuzzer target: arbitrary bytes as a filter expression through the whole
// front end for both link types, and through LLVM code generation when the
// expression compiles. No crash, no hang, bounded memory.
//   scripts/fuzz [SECONDS]
#include <cstddef>
#include <cstdint>
#include <string>

#include "compiler/codegen.h"
#include "compiler/pipeline.h"

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
