// The compiled filter is linked in as a global BPF function, so that the
// verifier checks it once, on its own, whatever calls it. Kernels before
// 5.12 refuse pointer arguments to global functions ("Arg#0 type PTR in
// dw_filter_link() is not supported yet"); there the filter's BTF linkage is
// turned static before load, and the verifier checks it in each caller's
// context. The machine code stays the same.
#pragma once

struct bpf_object;

namespace dw::probe {

// Marks every BTF function named dw_filter* static. Before bpf_object__load().
void make_filters_static(bpf_object* obj);

// Whether the running kernel needs that (cached).
bool filters_must_be_static();

}  // namespace dw::probe
