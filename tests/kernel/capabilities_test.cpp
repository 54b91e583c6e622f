// What docs/deploy.md promises: an unprivileged user with CAP_BPF,
// CAP_PERFMON and CAP_SYSLOG sees drops; without one of them dropwatch names
// it and loads nothing.
#include <signal.h>

#include <gtest/gtest.h>

#include <sstream>

#include <nlohmann/json.hpp>

#include "probe/kernel_features.h"
#include "tests/support/bpf_programs.h"
#include "tests/support/dropwatch_run.h"
#include "tests/support/netns.h"

namespace dw::test {
namespace {

using namespace std::chrono_literals;

std::vector<std::string> with_caps(const std::string& setpriv_caps, std::vector<std::string> args) {
  std::vector<std::string> v = {"/usr/bin/setpriv"};
  std::istringstream in(setpriv_caps);
  for (std::string w; in >> w;) v.push_back(w);
  v.push_back(dropwatch_for_other_users());
  v.insert(v.end(), args.begin(), args.end());
  return v;
}

struct Missing {
  std::string drop, named;
};

TEST(Capabilities, AMissingOneIsNamedAndNothingIsLoaded) {
  const Missing cases[] = {
      {"-syslog", "CAP_SYSLOG (read kernel addresses"},
      {"-bpf,-sys_admin", "CAP_BPF (load the probe)"},
      {"-perfmon,-sys_admin", "CAP_PERFMON (attach it"},
  };
  for (const auto& c : cases) {
    Process p(with_caps("--bounding-set=" + c.drop + " --inh-caps=" + c.drop, {"-c", "1"}));
    EXPECT_EQ(p.wait(20s), 1) << c.drop;
    std::string err = p.stderr_text();
    EXPECT_NE(err.find("missing capabilities: " + c.named), std::string::npos) << err;
    EXPECT_NE(err.find("docs/deploy.md"), std::string::npos) << err;
    EXPECT_EQ(err.find("watching"), std::string::npos) << err;
  }
  EXPECT_TRUE(no_programs_left("dw_"));
}

TEST(Capabilities, AnUnprivilegedUserWithThreeCapabilitiesSeesDrops) {
  NetnsPair ns("dwc");
  ASSERT_TRUE(ns.ok());
  const std::string caps =
      "--reuid=65534 --regid=65534 --clear-groups "
      "--inh-caps=+bpf,+perfmon,+syslog --ambient-caps=+bpf,+perfmon,+syslog";
  Process p(with_caps(caps, {"-o", "json", "--filter", "udp port 4491", "-c", "1"}));
  ASSERT_TRUE(p.wait_stderr("dropwatch: watching", 20s)) << p.stderr_text();
  // The in-place check loads the probe's own program type: the three
  // capabilities get what root gets (a networking type needed CAP_NET_ADMIN).
  if (probe::in_place_reads_supported()) {
    EXPECT_NE(p.stderr_text().find("filter in place"), std::string::npos) << p.stderr_text();
  }
  run_in_netns(ns.a(), "dw-caps", [] { return send_udp(NetnsPair::kAddrB, 4491); });
  ASSERT_EQ(p.wait(10s), 0) << p.stderr_text();
  auto evs = parse_events(p.stdout_lines());
  ASSERT_EQ(evs.size(), 1u) << p.stderr_text();
  EXPECT_EQ(evs[0]["reason"], "NO_SOCKET");
  EXPECT_TRUE(evs[0]["location"].get<std::string>().starts_with("__udp4_lib_rcv+0x"))
      << "kernel functions are named: " << evs[0].dump();
  EXPECT_TRUE(evs[0]["stack"].get<std::string>().starts_with("__udp4_lib_rcv+0x"));
}

}  // namespace
}  // namespace dw::test
