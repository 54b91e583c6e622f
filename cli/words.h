// What CLI11 leaves over, shared by dropwatch and dropfilter: the words of
// a filter written as tcpdump takes one (`dropwatch tcp port 443`), the
// files after `dropwatch print`, and any option CLI11 does not know, named
// with the nearest one it does.
#pragma once

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <string>
#include <vector>

#include "common/result.h"

namespace dw::cli {

// Edit distance, for "did you mean".
inline size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); j++) prev[j] = j;
  for (size_t i = 1; i <= a.size(); i++) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); j++)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

// "-x" or "--name" (with or without "=value"), not "-" (standard input)
// nor "-1" (a negative number in a filter, `len > -1`).
inline bool looks_like_option(const std::string& w) {
  return w.size() > 1 && w[0] == '-' && (w[1] == '-' || std::isalpha((unsigned char)w[1]));
}

// "unknown option '--stak-budget'; did you mean --stack-budget?": a long
// name it begins, or one a third of whose letters are wrong at most (a
// short option, one letter, has no near one).
inline std::string unknown_option(const CLI::App& app, const std::string& given) {
  std::string name = given.substr(0, given.find('='));
  std::string msg = "unknown option '" + name + "'";
  if (!name.starts_with("--")) return msg;
  std::string bare = name.substr(2), best;
  size_t best_d = std::max<size_t>(1, bare.size() / 3) + 1;
  for (const CLI::Option* o : app.get_options())
    for (const auto& n : o->get_lnames()) {
      size_t d = n.starts_with(bare) && bare.size() >= 3 ? 1 : edit_distance(bare, n);
      if (d < best_d) best_d = d, best = "--" + n;
    }
  if (!best.empty()) msg += "; did you mean " + best + "?";
  return msg;
}

// The words of a positional declared with allow_extra_args(false) (so that
// CLI11 does not read "[a,b]" as a list), in the order given: CLI11 puts
// the first in `taken`, the rest among the app's extras (allow_extras()),
// after options it does not know and a "--", which ends the options.
inline Result<std::vector<std::string>> words_left(const CLI::App& app,
                                                   std::vector<std::string> taken) {
  bool options_ended = false;
  for (const std::string& w : app.remaining()) {
    if (!options_ended && w == "--") {
      options_ended = true;
      continue;
    }
    if (!options_ended && looks_like_option(w)) return fail(unknown_option(app, w));
    taken.push_back(w);
  }
  return taken;
}

// The expression the words make, joined with spaces as tcpdump joins its
// arguments.
inline std::string join_words(const std::vector<std::string>& words) {
  std::string s;
  for (const auto& w : words) s += (s.empty() ? "" : " ") + w;
  return s;
}

}  // namespace dw::cli
