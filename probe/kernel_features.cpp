#include "probe/kernel_features.h"

#include <bpf/btf.h>
#include <sys/utsname.h>

#include <cstring>
#include <memory>

namespace dw::probe {
namespace {

struct BtfDeleter {
  void operator()(btf* b) const { btf__free(b); }
};

bool has_member(const btf* b, const char* type, const char* member) {
  int id = btf__find_by_name_kind(b, type, BTF_KIND_STRUCT);
  if (id < 0) return false;
  const btf_type* t = btf__type_by_id(b, id);
  const struct btf_member* m = btf_members(t);
  for (unsigned i = 0; i < btf_vlen(t); i++, m++)
    if (std::strcmp(btf__name_by_offset(b, m->name_off), member) == 0) return true;
  return false;
}

bool has_enumerator(const btf* b, const char* type, const char* name) {
  int id = btf__find_by_name_kind(b, type, BTF_KIND_ENUM);
  if (id < 0) return false;
  const btf_type* t = btf__type_by_id(b, id);
  const struct btf_enum* e = btf_enum(t);
  for (unsigned i = 0; i < btf_vlen(t); i++, e++)
    if (std::strcmp(btf__name_by_offset(b, e->name_off), name) == 0) return true;
  return false;
}

}  // namespace

Result<KernelFeatures> KernelFeatures::detect(const std::string& btf_path) {
  std::unique_ptr<btf, BtfDeleter> b(btf__parse(btf_path.c_str(), nullptr));
  if (!b)
    return fail("cannot read kernel BTF at " + btf_path +
                ": dropwatch needs a kernel built with CONFIG_DEBUG_INFO_BTF=y");
  KernelFeatures f;
  utsname u{};
  if (uname(&u) == 0) f.release = u.release;
  // The tracepoint's fields follow its arguments, also those of tp_btf.
  f.drop_reasons = has_member(b.get(), "trace_event_raw_kfree_skb", "reason");
  f.rx_sk = has_member(b.get(), "trace_event_raw_kfree_skb", "rx_sk");
  f.task_btf = has_enumerator(b.get(), "bpf_func_id", "BPF_FUNC_get_current_task_btf");
  f.socket_cgroup = has_member(b.get(), "sock_cgroup_data", "cgroup");
  f.global_func_pointers = has_enumerator(b.get(), "bpf_func_id", "BPF_FUNC_check_mtu");
  return f;
}

std::string KernelFeatures::lacking() const {
  std::string out;
  auto add = [&](bool have, const char* what) {
    if (have) return;
    out += out.empty() ? "" : "; ";
    out += what;
  };
  add(drop_reasons, "drop reasons (5.17+): events say reason UNREPORTED, --reason selects nothing");
  add(socket_cgroup, "the socket's cgroup (5.15+): no cgroup_path or container_id");
  add(rx_sk, "the receiving socket (6.11+): drops in a socket's receive path show no socket");
  add(task_btf, "task fields through BTF (5.11+): read through helpers, ~100 ns more per event");
  return out.empty() ? "" : "kernel " + release + " lacks " + out;
}

}  // namespace dw::probe
