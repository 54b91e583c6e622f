// Noise rules: kfree_skb calls that are not data-plane losses (a socket
// closing, a neighbour entry expiring, a driver freeing what it sent), named
// by the function that dropped or any frame of its stack.
//
// A rule is an RE2 expression matched against whole function names. The
// functions it names in the running kernel are pinned in the probe, which
// skips drops located there before reading anything (at most DW_NOISE_MAX
// functions in all); deeper stack frames are matched in userspace, so they
// need stacks (not with --no-stack).
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "events/event.h"
#include "probe/kallsyms.h"

namespace re2 {
class RE2;
}

namespace dw::events {

struct NoiseRule {
  std::string pattern;
  std::string why;  // empty for rules from the command line
};

// The three cases huatuo-bamai filters by default.
const std::vector<NoiseRule>& default_noise_rules();

class NoiseRules {
 public:
  // An invalid pattern is an error naming it.
  static Result<NoiseRules> compile(std::vector<NoiseRule> rules);
  NoiseRules(NoiseRules&&) noexcept;
  ~NoiseRules();

  // Address ranges of the kernel functions the rules name, for the probe.
  // Nothing, and *why set, when they name more than `max` functions.
  // More than `max`: an error saying so (they are then applied in
  // userspace only).
  Result<std::vector<std::pair<uint64_t, uint64_t>>> locations(const probe::Kallsyms& syms,
                                                               size_t max) const;
  // How many kernel functions rule i names.
  size_t functions_named(const probe::Kallsyms& syms, size_t i) const;
  // The rule matching the drop's location or a frame of its stack, or null.
  const NoiseRule* match(const DropEvent& ev) const;
  const std::vector<NoiseRule>& rules() const { return rules_; }
  bool empty() const { return rules_.empty(); }

 private:
  NoiseRules() = default;
  const NoiseRule* match_function(std::string_view name) const;

  std::vector<NoiseRule> rules_;
  std::vector<std::unique_ptr<re2::RE2>> res_;
};

// "tcp_v4_rcv+0x91 [mod]" -> "tcp_v4_rcv"
std::string_view function_of(std::string_view frame);

}  // namespace dw::events
