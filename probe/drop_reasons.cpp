#include "probe/drop_reasons.h"

#include <dirent.h>

#include <algorithm>
#include <cctype>
#include <memory>

namespace dw::probe {
namespace {

constexpr std::string_view kCorePrefix = "SKB_DROP_REASON_";
constexpr std::string_view kSubsysPrefix = "SKB_DROP_REASON_SUBSYS_";

template <typename Fn>
void for_each_enum_value(const btf* b, const btf_type* t, Fn fn) {
  uint16_t n = btf_vlen(t);
  if (btf_is_enum(t)) {
    const struct btf_enum* e = btf_enum(t);
    for (uint16_t i = 0; i < n; i++)
      fn(btf__name_by_offset(b, e[i].name_off), static_cast<uint32_t>(e[i].val));
  } else if (btf_is_enum64(t)) {
    const struct btf_enum64* e = btf_enum64(t);
    for (uint16_t i = 0; i < n; i++)
      fn(btf__name_by_offset(b, e[i].name_off), static_cast<uint32_t>(btf_enum64_value(&e[i])));
  }
}

const btf_type* find_enum(const btf* b, const char* name) {
  int id = btf__find_by_name_kind(b, name, BTF_KIND_ENUM);
  if (id < 0) id = btf__find_by_name_kind(b, name, BTF_KIND_ENUM64);
  return id < 0 ? nullptr : btf__type_by_id(b, id);
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

struct BtfDeleter {
  void operator()(btf* b) const { btf__free(b); }
};
using BtfPtr = std::unique_ptr<btf, BtfDeleter>;

}  // namespace

DropReasons DropReasons::from_btf(const btf* base, const std::vector<const btf*>& extra) {
  DropReasons r;
  if (const btf_type* t = find_enum(base, "skb_drop_reason")) {
    r.reported_ = true;
    for_each_enum_value(base, t, [&](std::string_view name, uint32_t v) {
      if (name.starts_with(kCorePrefix)) name.remove_prefix(kCorePrefix.size());
      if (name == "MAX") return;  // a bound, not a reason
      r.names_.emplace(v, std::string(name));
    });
  }
  r.subsystems_[0] = "core";
  if (const btf_type* t = find_enum(base, "skb_drop_reason_subsys")) {
    for_each_enum_value(base, t, [&](std::string_view name, uint32_t v) {
      if (!name.starts_with(kSubsysPrefix)) return;
      name.remove_prefix(kSubsysPrefix.size());
      if (name == "NUM") return;
      r.subsystems_[v] = lower(std::string(name));
    });
  }
  // Subsystems register their reasons as enums of their own whose values
  // carry the subsystem id in the top 16 bits (enum ovs_drop_reason,
  // enum mac80211_drop_reason). BTF does not link the two, so match by name
  // and by the id in the value.
  std::vector<const btf*> all = {base};
  all.insert(all.end(), extra.begin(), extra.end());
  for (const btf* b : all) {
    uint32_t n = btf__type_cnt(b);
    for (uint32_t id = 1; id < n; id++) {
      const btf_type* t = btf__type_by_id(b, id);
      if (!btf_is_enum(t) && !btf_is_enum64(t)) continue;
      std::string_view ename = btf__name_by_offset(b, t->name_off);
      if (ename.find("drop_reason") == std::string_view::npos || ename == "skb_drop_reason" ||
          ename == "skb_drop_reason_subsys")
        continue;
      for_each_enum_value(b, t, [&](std::string_view name, uint32_t v) {
        uint32_t sub = v >> kSubsysShift;
        if (sub != 0 && r.subsystems_.count(sub)) r.names_.emplace(v, std::string(name));
      });
    }
  }
  return r;
}

Result<DropReasons> DropReasons::from_kernel(const std::string& btf_dir) {
  std::string vmlinux_path = btf_dir + "/vmlinux";
  BtfPtr vmlinux(btf__parse(vmlinux_path.c_str(), nullptr));
  if (!vmlinux)
    return fail("cannot read kernel BTF at " + vmlinux_path +
                ": the kernel needs CONFIG_DEBUG_INFO_BTF=y to name drop reasons");
  std::vector<BtfPtr> modules;
  if (DIR* d = opendir(btf_dir.c_str())) {
    while (dirent* ent = readdir(d)) {
      std::string name = ent->d_name;
      if (name == "." || name == ".." || name == "vmlinux") continue;
      std::string path = btf_dir;
      path.append("/").append(name);
      if (btf* m = btf__parse_split(path.c_str(), vmlinux.get())) modules.emplace_back(m);
    }
    closedir(d);
  }
  std::vector<const btf*> extra;
  extra.reserve(modules.size());
  for (auto& m : modules) extra.push_back(m.get());
  return from_btf(vmlinux.get(), extra);
}

std::string DropReasons::name(uint32_t code) const {
  if (!reported_) return "UNREPORTED";
  if (auto it = names_.find(code); it != names_.end()) return it->second;
  return "UNKNOWN(" + std::to_string(code) + ")";
}

std::string DropReasons::subsystem(uint32_t code) const {
  uint32_t sub = code >> kSubsysShift;
  if (auto it = subsystems_.find(sub); it != subsystems_.end()) return it->second;
  return "UNKNOWN(" + std::to_string(sub) + ")";
}

std::optional<uint32_t> DropReasons::code(const std::string& name) const {
  for (const auto& [code, n] : names_)
    if (n == name) return code;
  return std::nullopt;
}

}  // namespace dw::probe
