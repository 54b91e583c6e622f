// The probe's knobs folded into its code at link time (compiler/link.h):
// what the loader writes into .rodata (probe::Probe::rodata) becomes each
// global's value and a constant of the code, so a knob that is off leaves
// no code behind; a value the program has no global for is refused.
#include <gtest/gtest.h>

#include <cstring>

#include "bpf/bitcode.h"
#include "compiler/disasm.h"
#include "compiler/link.h"
#include "probe/probe.h"

namespace dw::filter {
namespace {

template <typename T>
RodataValue value(const char* name, T v) {
  RodataValue r{name, std::vector<uint8_t>(sizeof(T))};
  std::memcpy(r.bytes.data(), &v, sizeof(T));
  return r;
}

// The probe linked with accept-all filters and `rodata`, its IR kept.
Expected<std::vector<uint8_t>> probe_with(std::span<const RodataValue> rodata, std::string* ir) {
  Dag accept;
  ObjectOptions oo;
  oo.llvm_ir = ir;
  return link_program(bpf::probe_bitcode(), {{kProbeLinkEntry, &accept}, {kProbeNetEntry, &accept}},
                      oo, rodata);
}

// The line that defines global `name` in `ir`.
std::string global_line(const std::string& ir, const std::string& name) {
  size_t at = ir.find("\n@" + name + " = ");
  if (at == std::string::npos) return "";
  return ir.substr(at + 1, ir.find('\n', at + 1) - at - 1);
}

TEST(Link, EveryKnobTheLoaderWritesIsFoldedIntoTheProbe) {
  probe::Config c;
  c.snaplen = 128;
  c.events = false;
  auto rodata = probe::Probe::rodata(c);
  ASSERT_TRUE(rodata);
  EXPECT_EQ(rodata->size(), 15u);
  std::string ir;
  auto elf = probe_with(*rodata, &ir);
  ASSERT_TRUE(elf) << elf.error().message;
  // The globals keep the values (libbpf maps .rodata from them) ...
  EXPECT_NE(global_line(ir, "cfg_snaplen").find(" constant i32 128,"), std::string::npos);
  EXPECT_NE(global_line(ir, "cfg_events").find(" constant i8 0,"), std::string::npos);
  // ... and no code reads them at run time.
  EXPECT_EQ(ir.find("load volatile"), std::string::npos);
}

TEST(Link, AKnobThatIsOffLeavesNoCode) {
  std::string ir;
  // Events on: the entries call their event builder.
  auto with = probe_with(std::vector{value<uint8_t>("cfg_events", 1)}, &ir);
  ASSERT_TRUE(with) << with.error().message;
  EXPECT_NE(disassemble(*with, "keep_btf"), "");
  // Counting only: the event builder, the ring buffer and the stack are gone.
  auto without = probe_with(std::vector{value<uint8_t>("cfg_events", 0)}, &ir);
  ASSERT_TRUE(without) << without.error().message;
  EXPECT_EQ(disassemble(*without, "keep_btf"), "");
  EXPECT_EQ(ir.find("@keep_btf("), std::string::npos);
  EXPECT_LT(without->size(), with->size());
}

TEST(Link, AValueWithoutItsGlobalIsRefused) {
  struct Case {
    RodataValue value;
    const char* error;
  } cases[] = {
      {value<uint32_t>("cfg_no_such_knob", 1), "no read-only global cfg_no_such_knob of 4 bytes"},
      {value<uint64_t>("cfg_snaplen", 1), "no read-only global cfg_snaplen of 8 bytes"},
      {value<uint8_t>("LICENSE", 0), "no read-only global LICENSE of 1 bytes"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.value.name);
    auto elf = probe_with(std::span(&c.value, 1), nullptr);
    ASSERT_FALSE(elf);
    EXPECT_NE(elf.error().message.find(c.error), std::string::npos) << elf.error().message;
  }
}

}  // namespace
}  // namespace dw::filter
