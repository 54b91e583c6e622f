// The --pcap contract, end to end: `dropfilter --pcap FILE EXPR` prints the
// numbers of the frames `tcpdump -r FILE EXPR` prints, for both link types,
// and rejects what tcpdump rejects.
#include <gtest/gtest.h>

#include <pcap/pcap.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/filter_table.h"

namespace {

struct Output {
  int status;
  std::string out;
};

Output run(const std::string& cmd) {
  Output o{-1, ""};
  FILE* f = popen(cmd.c_str(), "r");
  if (!f) return o;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), f)) > 0) o.out.append(buf, n);
  int rc = pclose(f);
  o.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  return o;
}

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

class PcapFiles : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::string(DW_BUILD_DIR) + "/test-pcaps";
    std::string cmd = "mkdir -p " + dir_ + " && " + DW_BIN_DIR + "/write_corpus_pcap " + dir_ +
                      "/eth.pcap " + dir_ + "/raw.pcap";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
  }
  static std::string dir_;
};
std::string PcapFiles::dir_;

TEST_F(PcapFiles, DropfilterPrintsTheFramesTcpdumpPrints) {
  auto exprs = dw::test::filter_table(DW_TEST_DATA "/filters.txt");
  int compared = 0, rejected = 0;
  for (const char* file : {"eth.pcap", "raw.pcap"}) {
    std::string path = dir_ + "/" + file;
    // Every 3rd expression keeps the run short; the in-process kernel test covers all.
    for (size_t i = 0; i < exprs.size(); i += 3) {
      const std::string& e = exprs[i];
      Output ours = run(std::string(DW_BIN_DIR) + "/dropfilter --pcap " + path + " -- " + quote(e) +
                        " 2>/dev/null");
      // Frame N was written with timestamp 1780000000 + N - 1 (write_corpus_pcap).
      Output theirs = run("tcpdump -tt -nn -r " + path + " -- " + quote(e) +
                          " 2>/dev/null | awk '$1 ~ /^178[0-9]+[.]/ {split($1, t, \".\"); print "
                          "t[1] - 1779999999}'");
      // tcpdump's exit status is lost in the pipe; it prints nothing on a bad filter.
      Output check =
          run("tcpdump -nn -r " + path + " -c 1 -- " + quote(e) + " >/dev/null 2>&1; echo $?");
      bool tcpdump_ok = check.out == "0\n";
      SCOPED_TRACE(std::string(file) + ": " + e);
      if (!tcpdump_ok) {
        EXPECT_NE(ours.status, 0) << "tcpdump rejects, dropfilter accepts";
        rejected++;
        continue;
      }
      ASSERT_EQ(ours.status, 0) << "dropfilter rejects what tcpdump accepts";
      EXPECT_EQ(ours.out, theirs.out);
      compared++;
    }
  }
  EXPECT_GT(compared, 150);
  EXPECT_GT(rejected, 20);
}

TEST(DropfilterCli, ErrorsShowTheExpressionAndACaret) {
  Output o = run(std::string(DW_BIN_DIR) + "/dropfilter 'tcp port 70000' 2>&1");
  EXPECT_EQ(o.status, 1);
  EXPECT_EQ(o.out,
            "filter:1:10-14: error: illegal port number 70000 > 65535\n"
            "tcp port 70000\n"
            "         ^~~~~\n");
}

TEST(DropfilterCli, DumpBpfCountsInstructions) {
  Output o = run(std::string(DW_BIN_DIR) + "/dropfilter --dump-bpf 'tcp port 443'");
  EXPECT_EQ(o.status, 0);
  EXPECT_NE(o.out.find("   0: ("), std::string::npos) << o.out;
  EXPECT_NE(o.out.find(" instructions)\n"), std::string::npos) << o.out;
}

// Frames longer than the probe's 4096-byte buffer: --pcap gives the filter a
// buffer as large as the file's snapshot length, so `ip[50000] = 0`
// matches a 60,000-byte frame as it does in tcpdump.
TEST_F(PcapFiles, LongFramesAreFilteredWhole) {
  std::string path = dir_ + "/jumbo.pcap";
  pcap_t* dead = pcap_open_dead(DLT_EN10MB, 262144);
  pcap_dumper_t* d = pcap_dump_open(dead, path.c_str());
  ASSERT_TRUE(d) << pcap_geterr(dead);
  std::vector<uint8_t> frame(60000, 0);
  frame[12] = 0x08;  // IPv4
  frame[14] = 0x45;
  for (uint8_t v : {0, 1}) {
    frame[14 + 50000] = v;
    pcap_pkthdr h{};
    h.caplen = h.len = uint32_t(frame.size());
    pcap_dump(reinterpret_cast<u_char*>(d), &h, frame.data());
  }
  pcap_dump_close(d);
  pcap_close(dead);
  for (const char* e : {"ip[50000] = 0", "ip[50000] = 1", "ether[59999] = 0"}) {
    Output ours = run(std::string(DW_BIN_DIR) + "/dropfilter --pcap " + path + " " + quote(e));
    Output theirs = run("tcpdump -nn -r " + path + " " + quote(e) + " 2>/dev/null | wc -l");
    EXPECT_EQ(ours.status, 0) << e;
    EXPECT_EQ(std::to_string(std::count(ours.out.begin(), ours.out.end(), '\n')) + "\n", theirs.out)
        << e << ": ours " << ours.out;
  }
  EXPECT_EQ(run(std::string(DW_BIN_DIR) + "/dropfilter --pcap " + path + " 'ip[50000] = 0'").out,
            "1\n");
}

}  // namespace
