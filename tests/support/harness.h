// A filter linked into the test harness and loaded in the kernel, in one
// call: for the differential tests and bench/.
#pragma once

#include <memory>

#include "compiler/link.h"
#include "probe/filter_harness.h"

namespace dw::test {

inline Result<std::unique_ptr<probe::FilterHarness>> load_harness(
    filter::FilterDef def, bool optimize = true,
    probe::FilterHarness::Mode mode = probe::FilterHarness::Mode::Copy) {
  filter::ObjectOptions oo;
  oo.optimize_filters = optimize;
  auto elf = filter::link_harness(std::move(def), oo);
  if (!elf) return fail(elf.error().message);
  return probe::FilterHarness::load(*elf, oo.capacity, mode);
}

inline Result<std::unique_ptr<probe::FilterHarness>> load_harness(
    const filter::Dag& dag, probe::FilterHarness::Mode mode = probe::FilterHarness::Mode::Copy) {
  return load_harness(filter::FilterDef{"dw_filter", &dag}, true, mode);
}

}  // namespace dw::test
