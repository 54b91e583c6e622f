#include "tests/support/pcap_oracle.h"

#include <stdlib.h>
#include <unistd.h>

namespace dw::test {

// A handle on a (header-only) savefile, so pcap_compile() behaves as under
// tcpdump -r: it refuses what needs a live capture (inbound, ifindex).
PcapOracle::PcapOracle(int dlt, int snaplen) {
  char path[] = "/tmp/dw-oracle-XXXXXX";
  int fd = mkstemp(path);
  close(fd);
  pcap_t* dead = pcap_open_dead(dlt, snaplen);
  pcap_dump_close(pcap_dump_open(dead, path));
  pcap_close(dead);
  char err[PCAP_ERRBUF_SIZE];
  p_ = pcap_open_offline(path, err);
  unlink(path);
}

PcapOracle::~PcapOracle() {
  if (have_prog_) pcap_freecode(&prog_);
  pcap_close(p_);
}

std::optional<std::string> PcapOracle::compile(const std::string& expr) {
  if (have_prog_) pcap_freecode(&prog_);
  have_prog_ = false;
  // tcpdump -r passes netmask 0 for an offline file.
  if (pcap_compile(p_, &prog_, expr.c_str(), 1, 0) != 0) return std::string(pcap_geterr(p_));
  have_prog_ = true;
  return std::nullopt;
}

bool PcapOracle::matches(std::span<const uint8_t> pkt, uint32_t wire_len) const {
  pcap_pkthdr h{};
  h.caplen = pkt.size();
  h.len = wire_len;
  return pcap_offline_filter(&prog_, &h, pkt.data()) != 0;
}

}  // namespace dw::test
