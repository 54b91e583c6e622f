// The packet corpus for differential tests: frames of every protocol the
// filter language names, encapsulations (VLAN, QinQ, MPLS, PPPoE, LLC/SNAP),
// IPv4 options and fragments, IPv6 extension headers, and truncated and
// malformed frames. Deterministic.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dw::test {

struct CorpusFrame {
  std::string name;
  std::vector<uint8_t> bytes;  // captured
  uint32_t wire_len;           // >= bytes.size()
};

std::vector<CorpusFrame> ethernet_corpus();
std::vector<CorpusFrame> raw_ip_corpus();

// Random frames built from the corpus by mutation and truncation (seeded).
std::vector<CorpusFrame> random_frames(uint32_t seed, size_t count, bool ethernet);

}  // namespace dw::test
