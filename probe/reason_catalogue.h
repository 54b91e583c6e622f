// What each core drop reason means, in our words: a line on what happened,
// the usual causes, and the kernel counter to cross-check where one exists.
// The names are those of enum skb_drop_reason without SKB_DROP_REASON_; a
// reason the running kernel has and this table lacks is shown as such by
// `dropwatch reasons`, never left out.
#pragma once

#include <string_view>

namespace dw::probe {

struct ReasonInfo {
  std::string_view name;     // "NO_SOCKET"
  std::string_view meaning;  // one line
  std::string_view causes;   // the usual ones, one line
  std::string_view counter;  // `nstat` / `ip -s link` / `tc -s` names, or empty
};

// The entry for `name`, or null.
const ReasonInfo* reason_info(std::string_view name);

}  // namespace dw::probe
