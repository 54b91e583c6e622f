// What an unprivileged neighbour or a careless command line can make a root
// dropwatch do: write escape sequences to the operator's terminal, follow a
// planted link to overwrite a file, destroy its own input, accept a file as
// a namespace, end at once on a huge --duration. None of it.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "tests/support/bpf_programs.h"
#include "tests/support/dropwatch_run.h"
#include "tests/support/netns.h"

namespace dw::test {
namespace {

using namespace std::chrono_literals;

using CliRun = Finished;

CliRun run(const std::vector<std::string>& args) { return run_to_end(args); }

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/dw-safety-XXXXXX";
    if (mkdtemp(tmpl)) dir_ = tmpl;
  }
  ~TempDir() { std::system(("rm -rf " + dir_).c_str()); }
  std::string operator/(const std::string& name) const { return dir_ + "/" + name; }

 private:
  std::string dir_;
};

std::string read_file(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

bool only_printable(const std::string& s) {
  for (unsigned char c : s)
    if (c != '\n' && (c < 0x20 || c >= 0x7f)) return false;
  return true;
}

const char kEvilComm[] = "\x1b]0;PWNED\a\x1b[2J";  // sets the title, clears the screen

TEST(Safety, NoEscapeSequenceReachesTheTerminal) {
  NetnsPair ns("dwt");
  ASSERT_TRUE(ns.ok());
  TempDir tmp;
  auto dw = start_dropwatch({"--output", "text", "--filter", "udp port 4471", "--count", "1"});
  ASSERT_TRUE(dw);
  ASSERT_EQ(run_in_netns(ns.a(), kEvilComm, [] { return send_udp(NetnsPair::kAddrB, 4471); }), 0);
  ASSERT_EQ(dw->wait(20s), 0) << dw->stderr_text();
  std::string out;
  for (const auto& l : dw->stdout_lines()) out += l + "\n";
  EXPECT_TRUE(only_printable(out)) << out;
  EXPECT_NE(out.find("[\\x1b]0;PWNED\\x07\\x1b[2J]"), std::string::npos) << out;

  // The same event stored, then printed later.
  auto store = start_dropwatch(
      {"--output-file", tmp / "ev.ndjson", "--filter", "udp port 4472", "--count", "1"});
  ASSERT_TRUE(store);
  ASSERT_EQ(run_in_netns(ns.a(), kEvilComm, [] { return send_udp(NetnsPair::kAddrB, 4472); }), 0);
  ASSERT_EQ(store->wait(20s), 0) << store->stderr_text();
  CliRun printed = run({dropwatch_path(), "print", tmp / "ev.ndjson"});
  EXPECT_EQ(printed.status, 0) << printed.err;
  EXPECT_TRUE(only_printable(printed.out)) << printed.out;
  EXPECT_NE(printed.out.find("PWNED"), std::string::npos) << printed.out;
  EXPECT_TRUE(no_programs_left("dw_"));
}

TEST(Safety, APlantedLinkIsNotFollowed) {
  TempDir tmp;
  std::ofstream(tmp / "precious") << "keep me\n";
  ASSERT_EQ(symlink((tmp / "precious").c_str(), (tmp / "drops.pcapng").c_str()), 0);
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"-w", tmp / "drops.pcapng"},
        std::vector<std::string>{"--output-file", tmp / "drops.pcapng"}}) {
    std::vector<std::string> argv = {dropwatch_path(), "--duration", "1"};
    argv.insert(argv.end(), args.begin(), args.end());
    CliRun r = run(argv);
    EXPECT_EQ(r.status, 2) << r.err;
    EXPECT_NE(r.err.find("symbolic link"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("watching"), std::string::npos) << "refused before attaching";
  }
  EXPECT_EQ(read_file(tmp / "precious"), "keep me\n");
  struct stat st;
  EXPECT_EQ(lstat((tmp / "drops.pcapng").c_str(), &st), 0) << "the link is not removed either";
}

TEST(Safety, AFileDropwatchDidNotCreateIsNotRemoved) {
  TempDir tmp;
  std::ofstream(tmp / "existing.pcapng") << "old\n";
  // No packet matches: dropwatch would remove a file it created, not this.
  CliRun r = run({dropwatch_path(), "-w", tmp / "existing.pcapng", "--duration", "1", "--filter",
                  "udp port 1 and udp port 2"});
  EXPECT_EQ(r.status, 0) << r.err;
  struct stat st;
  EXPECT_EQ(stat((tmp / "existing.pcapng").c_str(), &st), 0) << r.err;
  EXPECT_EQ(r.err.find("removed"), std::string::npos) << r.err;
}

TEST(Safety, AnInputIsNeverTheOutput) {
  TempDir tmp;
  std::string ev =
      R"({"observed_timestamp":"2026-06-20T08:30:12.123456789Z","reason":"NO_SOCKET",)"
      R"("capture_len":20,"packet_link":"raw","packet":"RQAAFAAAAABABgAACgAAAQoAAAI="})";
  std::ofstream(tmp / "ev.ndjson") << ev << "\n";
  CliRun r = run({dropwatch_path(), "pcap", tmp / "ev.ndjson", "-o", tmp / "ev.ndjson"});
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_NE(r.err.find("also an input"), std::string::npos) << r.err;
  EXPECT_EQ(read_file(tmp / "ev.ndjson"), ev + "\n");
}

TEST(Safety, OdderValuesGetClearAnswers) {
  CliRun ns = run({dropwatch_path(), "--netns", "/etc/passwd"});
  EXPECT_EQ(ns.status, 2) << ns.err;
  EXPECT_NE(ns.err.find("/etc/passwd is not a network namespace"), std::string::npos) << ns.err;
  CliRun dir = run({dropwatch_path(), "print", "/tmp"});
  EXPECT_EQ(dir.status, 2) << dir.err;
  EXPECT_NE(dir.err.find("Is a directory"), std::string::npos) << dir.err;
  // 1e10 seconds overflowed the deadline: the run ended at once.
  auto dw = start_dropwatch({"--duration", "1e10", "--output", "json"});
  ASSERT_TRUE(dw);
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(dw->wait(0ms), -1) << "still running";
  dw->signal(SIGINT);
  EXPECT_EQ(dw->wait(10s), 0) << dw->stderr_text();
}

}  // namespace
}  // namespace dw::test
