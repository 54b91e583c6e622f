// dropwatch reasons: every reason of the running kernel's BTF, each with
// its code and subsystem, and for the core ones what it means.
#include <gtest/gtest.h>

#include <set>

#include "tests/support/binaries.h"
#include "tests/support/process.h"

namespace dw::test {
namespace {

using namespace std::chrono_literals;

TEST(Reasons, EveryReasonOfThisKernelIsListedAndTheCoreOnesExplained) {
  Process list({dropwatch_path(), "--list-reasons"});
  ASSERT_EQ(list.wait(20s), 0);
  std::set<std::string> kernel;
  for (const auto& l : list.stdout_lines()) {
    std::string name = l.substr(0, l.find(' '));
    if (name != "SUBSYS_MASK") kernel.insert(name);
  }
  ASSERT_GT(kernel.size(), 60u) << "a kernel with drop reasons";
  Process all({dropwatch_path(), "reasons"});
  ASSERT_EQ(all.wait(20s), 0) << all.stderr_text();
  std::set<std::string> listed;
  std::vector<std::string> lines = all.stdout_lines();
  for (size_t i = 0; i < lines.size(); i++) {
    if (lines[i].starts_with(" ")) continue;
    std::string name = lines[i].substr(0, lines[i].find(' '));
    listed.insert(name);
    ASSERT_LT(i + 1, lines.size());
    if (lines[i].ends_with(", core)")) {
      EXPECT_EQ(lines[i + 1].find("not in dropwatch's catalogue"), std::string::npos)
          << name << " has no meaning in the catalogue";
    }
  }
  EXPECT_EQ(listed, kernel);
}

TEST(Reasons, ANamedOneShowsItsMeaningCausesAndCounter) {
  Process p({dropwatch_path(), "reasons", "no_socket", "SKB_DROP_REASON_NETFILTER_DROP"});
  ASSERT_EQ(p.wait(20s), 0) << p.stderr_text();
  auto lines = p.stdout_lines();
  ASSERT_EQ(lines.size(), 8u) << testing::PrintToString(lines);
  EXPECT_TRUE(lines[0].starts_with("NO_SOCKET (")) << lines[0];
  EXPECT_TRUE(lines[0].ends_with(", core)")) << lines[0];
  EXPECT_TRUE(lines[2].starts_with("    usual causes: ")) << lines[2];
  EXPECT_NE(lines[3].find("UdpNoPorts"), std::string::npos) << lines[3];
  EXPECT_TRUE(lines[4].starts_with("NETFILTER_DROP (")) << lines[4];
  EXPECT_NE(lines[6].find("--nft-trace"), std::string::npos) << lines[6];
}

TEST(Reasons, AnUnknownNameGetsCloseNamesAndExitTwo) {
  Process p({dropwatch_path(), "reasons", "NO_SOCKT"});
  EXPECT_EQ(p.wait(20s), 2);
  EXPECT_NE(p.stderr_text().find("did you mean NO_SOCKET"), std::string::npos) << p.stderr_text();
  EXPECT_TRUE(p.stdout_lines().empty());
}

}  // namespace
}  // namespace dw::test
