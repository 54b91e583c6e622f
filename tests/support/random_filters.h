// Random filter expressions over the whole language, for differential tests
// against libpcap: primitives with random qualifiers and values, accessors
// and arithmetic, combined with and/or/not/parentheses and bare ids that
// inherit qualifiers. Deterministic for a seed.
#pragma once

#include <cstdint>
#include <random>
#include <string>

namespace dw::test {

class RandomFilters {
 public:
  explicit RandomFilters(uint32_t seed) : rng_(seed) {}
  std::string next(int depth = 3);

 private:
  template <size_t N>
  const char* pick(const char* const (&a)[N]) {
    return a[rng_() % N];
  }
  bool chance(int percent) { return int(rng_() % 100) < percent; }
  std::string primitive();
  std::string accessor();
  std::string arith(int depth);
  std::mt19937 rng_;
};

}  // namespace dw::test
