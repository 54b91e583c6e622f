// --summary: a periodic top-N table of the drops shown, by reason, location
// and device, like top for drops (and once more at exit, for the whole run).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <tuple>

#include "probe/event.h"

namespace dw::cli {

class DropSummary {
 public:
  explicit DropSummary(size_t top) : top_(top) {}
  void add(const DropEvent& ev);
  // The table of the drops added since the last interval, over `seconds`;
  // starts a new interval.
  std::string interval(double seconds);
  // The table of every drop added, over the whole run.
  std::string total(double seconds) const;

  // reason, location, device ("eth0 netns 4026531840", "-" without one)
  using Key = std::tuple<std::string, std::string, std::string>;

 private:
  std::string table(const std::map<Key, uint64_t>& counts, double seconds,
                    const std::string& title) const;

  size_t top_;
  std::map<Key, uint64_t> interval_, total_;
};

}  // namespace dw::cli
