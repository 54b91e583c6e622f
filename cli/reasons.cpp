#include "cli/reasons.h"

#include <cstdio>

#include "cli/exit_codes.h"
#include "cli/resolve.h"
#include "events/text.h"
#include "probe/drop_reasons.h"
#include "probe/reason_catalogue.h"

namespace dw::cli {

int run_reasons(const std::vector<std::string>& names) {
  auto reasons = probe::DropReasons::from_kernel();
  if (!reasons) {
    std::fprintf(stderr, "dropwatch: %s\n", reasons.error().message.c_str());
    return kExitFailure;
  }
  if (!reasons->reported()) {
    std::fprintf(stderr, "dropwatch: this kernel reports no drop reasons (they came with 5.17)\n");
    return names.empty() ? kExitOk : kExitUsage;
  }
  std::vector<uint32_t> codes;
  if (names.empty()) {
    for (const auto& [code, name] : reasons->all())
      if (name != "SUBSYS_MASK") codes.push_back(code);  // a mask, not a reason
  } else {
    std::string list;
    for (const std::string& n : names) list += (list.empty() ? "" : ",") + n;
    auto found = resolve_reasons(list, *reasons);
    if (!found) {
      std::fprintf(stderr, "dropwatch: %s\n", found.error().message.c_str());
      return kExitUsage;
    }
    codes = *found;
  }
  for (uint32_t code : codes) {
    std::string name = reasons->name(code), subsys = reasons->subsystem(code);
    std::printf("%s (%u, %s)\n", events::escaped(name).c_str(), code,
                events::escaped(subsys).c_str());
    const probe::ReasonInfo* info = subsys == "core" ? probe::reason_info(name) : nullptr;
    if (!info) {
      std::printf(subsys == "core"
                      ? "    not in dropwatch's catalogue (newer than this dropwatch): see the "
                        "kernel's include/net/dropreason-core.h\n"
                      : "    a reason of the %s subsystem, not in dropwatch's catalogue: see its "
                        "dropreason header\n",
                  subsys.c_str());
      continue;
    }
    std::printf("    %.*s\n", int(info->meaning.size()), info->meaning.data());
    if (!info->causes.empty())
      std::printf("    usual causes: %.*s\n", int(info->causes.size()), info->causes.data());
    if (!info->counter.empty())
      std::printf("    cross-check: %.*s\n", int(info->counter.size()), info->counter.data());
  }
  return kExitOk;
}

}  // namespace dw::cli
