// Stage 8: compiled filters linked into a program kept as LLVM bitcode (the
// drop probe or the test harness, bpf/bitcode.h) and the whole compiled to
// a BPF ELF object in memory, which the loader (probe/) loads as it is.
// Linking happens on LLVM modules, before code generation: the filters are
// optimized on their own first (exactly as compile_filters() does) and
// stay global, never inlined functions, so the same machine code runs in
// the dump, the harness and the probe.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/rodata.h"
#include "compiler/codegen.h"
#include "compiler/drop_filter.h"

namespace dw::filter {

// `bitcode` declares each filter; they are defined, optimized alone, linked
// in, and the whole module compiled to BPF. Each of `rodata` becomes its
// global's value and a constant of the code (its loads lose `volatile`):
// the optimizer removes what the knobs turn off, and nothing reads them at
// run time. The object's .rodata keeps them, for the loader to write the
// same values.
Expected<std::vector<uint8_t>> link_program(std::span<const uint8_t> bitcode,
                                            const std::vector<FilterDef>& filters,
                                            const ObjectOptions& opts,
                                            std::span<const RodataValue> rodata = {});

// The drop probe (bpf/dropwatch.bpf.c) with dropwatch's filter, or with
// accept-all entries when `filter` is null, its knobs folded in
// (probe::Probe::rodata()).
Expected<std::vector<uint8_t>> link_probe(const DropFilter* filter,
                                          std::span<const RodataValue> rodata = {});

// The test harness (bpf/filter_harness.bpf.c) with one filter; its name
// becomes the harness's dw_filter and its capacity the harness's buffer.
Expected<std::vector<uint8_t>> link_harness(FilterDef def, ObjectOptions opts = {});

}  // namespace dw::filter
