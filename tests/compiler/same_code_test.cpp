// The filter is linked into programs as one global BPF function, never
// inlined: dropfilter --dump-bpf, the test harness and the drop probe carry
// the same machine code for it.
#include <gtest/gtest.h>

#include "bpf/bitcode.h"
#include "compiler/codegen.h"
#include "compiler/disasm.h"
#include "compiler/link.h"
#include "compiler/pipeline.h"

namespace dw::filter {
namespace {

TEST(SameCode, DumpHarnessAndProbeCarryTheSameFilterCode) {
  for (const char* expr :
       {"tcp port 443", "vlan 100 and udp", "ip6 protochain 6", "ether[0] & 1 != 0 or len > 100"}) {
    SCOPED_TRACE(expr);
    auto fe = compile_front(expr, {});
    ASSERT_TRUE(fe);
    auto alone = compile_filters({{"dw_filter", &fe->dag}}, {});
    auto harness = link_program(bpf::harness_bitcode(), {{"dw_filter", &fe->dag}}, {});
    Dag accept;
    auto probe = link_program(bpf::probe_bitcode(),
                              {{"dw_filter_link", &fe->dag}, {"dw_filter_net", &accept}}, {});
    ASSERT_TRUE(alone && harness && probe);
    size_t n = 0;
    std::string a = disassemble(*alone, "dw_filter", &n);
    EXPECT_GT(n, 5u);
    EXPECT_EQ(disassemble(*harness, "dw_filter"), a);
    EXPECT_EQ(disassemble(*probe, "dw_filter_link"), a);
  }
}

}  // namespace
}  // namespace dw::filter
