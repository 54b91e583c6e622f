// libpcap as the oracle: pcap_compile (optimized, as tcpdump does) and
// pcap_offline_filter on a "dead" handle of the given link type.
#pragma once

#include <pcap/pcap.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace dw::test {

class PcapOracle {
 public:
  explicit PcapOracle(int dlt, int snaplen = 262144);
  ~PcapOracle();
  PcapOracle(const PcapOracle&) = delete;
  PcapOracle& operator=(const PcapOracle&) = delete;

  // nullopt when libpcap compiles `expr`, else its error message.
  std::optional<std::string> compile(const std::string& expr);
  bool matches(std::span<const uint8_t> pkt, uint32_t wire_len) const;

 private:
  pcap_t* p_;
  bpf_program prog_{};
  bool have_prog_ = false;
};

}  // namespace dw::test
