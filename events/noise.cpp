#include "events/noise.h"

#include <re2/re2.h>

namespace dw::events {

const std::vector<NoiseRule>& default_noise_rules() {
  static const std::vector<NoiseRule> rules = {
      {"skb_rbtree_purge", "a closing TCP socket frees the segments it still held"},
      {"neigh_invalidate", "a neighbour entry failed; its queued packets go with it"},
      {"bnxt_tx_int", "the Broadcom bnxt driver frees packets it has transmitted"},
  };
  return rules;
}

std::string_view function_of(std::string_view frame) {
  return frame.substr(0, frame.find_first_of("+ "));
}

Result<NoiseRules> NoiseRules::compile(std::vector<NoiseRule> rules) {
  NoiseRules n;
  RE2::Options opts;
  opts.set_log_errors(false);
  for (const NoiseRule& r : rules) {
    auto re = std::make_unique<RE2>(r.pattern, opts);
    if (!re->ok()) return fail("invalid noise rule '" + r.pattern + "': " + re->error());
    n.res_.push_back(std::move(re));
  }
  n.rules_ = std::move(rules);
  return n;
}

NoiseRules::NoiseRules(NoiseRules&&) noexcept = default;
NoiseRules::~NoiseRules() = default;

const NoiseRule* NoiseRules::match_function(std::string_view name) const {
  for (size_t i = 0; i < res_.size(); i++)
    if (RE2::FullMatch(name, *res_[i])) return &rules_[i];
  return nullptr;
}

Result<std::vector<std::pair<uint64_t, uint64_t>>> NoiseRules::locations(
    const probe::Kallsyms& syms, size_t max) const {
  if (rules_.empty()) return {};
  auto r = syms.ranges(
      [&](const probe::Kallsyms::Symbol& s) { return match_function(s.name) != nullptr; });
  if (r.size() > max)
    return fail("the noise rules name " + std::to_string(r.size()) +
                " kernel functions, more than " + std::to_string(max) +
                " the probe can pin; they are applied in userspace only");
  return r;
}

size_t NoiseRules::functions_named(const probe::Kallsyms& syms, size_t i) const {
  return syms
      .ranges([&](const probe::Kallsyms::Symbol& s) { return RE2::FullMatch(s.name, *res_[i]); })
      .size();
}

const NoiseRule* NoiseRules::match(const DropEvent& ev) const {
  if (rules_.empty()) return nullptr;
  if (const NoiseRule* r = match_function(function_of(ev.location))) return r;
  for (const std::string& f : ev.stack)
    if (const NoiseRule* r = match_function(function_of(f))) return r;
  return nullptr;
}

}  // namespace dw::events
