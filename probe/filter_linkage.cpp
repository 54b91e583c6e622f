#include "probe/filter_linkage.h"

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <string_view>

#include "probe/kernel_features.h"

namespace dw::probe {

bool filters_must_be_static() {
  static const bool must = [] {
    auto f = KernelFeatures::detect();
    return f && !f->global_func_pointers;
  }();
  return must;
}

void make_filters_static(bpf_object* obj) {
  const btf* b = bpf_object__btf(obj);
  if (!b) return;
  uint32_t n = btf__type_cnt(b);
  for (uint32_t id = 1; id < n; id++) {
    const btf_type* t = btf__type_by_id(b, id);
    if (!btf_is_func(t)) continue;
    std::string_view name = btf__name_by_offset(b, t->name_off);
    if (!name.starts_with("dw_filter")) continue;
    // The linkage is the vlen field of a FUNC; libbpf hands the object's
    // BTF to the kernel at load, as edited here.
    auto* ft = const_cast<btf_type*>(t);
    ft->info = (ft->info & ~0xffffu) | BTF_FUNC_STATIC;
  }
}

}  // namespace dw::probe
