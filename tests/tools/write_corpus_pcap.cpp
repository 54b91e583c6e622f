// Writes the test corpus as pcap files for the tcpdump comparison:
//   write_corpus_pcap ETH.pcap RAW.pcap
// Frames keep their wire length, so truncated captures stay truncated.
#include <pcap/pcap.h>

#include <cstdio>

#include "tests/support/corpus.h"

static int write(const char* path, int dlt, const std::vector<dw::test::CorpusFrame>& frames) {
  pcap_t* p = pcap_open_dead(dlt, 262144);
  pcap_dumper_t* d = pcap_dump_open(p, path);
  if (!d) {
    std::fprintf(stderr, "%s: %s\n", path, pcap_geterr(p));
    return 1;
  }
  uint32_t sec = 1780000000;
  for (const auto& f : frames) {
    // tcpdump prints an empty capture without its timestamp, so the test
    // could not tell which frame it was; the in-process tests cover them.
    if (f.bytes.empty()) continue;
    pcap_pkthdr h{};
    h.ts.tv_sec = sec++;
    h.caplen = f.bytes.size();
    h.len = f.wire_len;
    pcap_dump(reinterpret_cast<u_char*>(d), &h, f.bytes.data());
  }
  pcap_dump_close(d);
  pcap_close(p);
  return 0;
}

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: write_corpus_pcap ETH.pcap RAW.pcap\n");
    return 2;
  }
  auto eth = dw::test::ethernet_corpus();
  auto er = dw::test::random_frames(11, 200, true);
  eth.insert(eth.end(), er.begin(), er.end());
  auto raw = dw::test::raw_ip_corpus();
  auto rr = dw::test::random_frames(12, 100, false);
  raw.insert(raw.end(), rr.begin(), rr.end());
  return write(argv[1], DLT_EN10MB, eth) | write(argv[2], DLT_RAW, raw);
}
