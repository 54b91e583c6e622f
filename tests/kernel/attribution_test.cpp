// Container attribution: a drop whose skb has a socket carries the socket's
// cgroup id, its path and the container id docker or containerd would give.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cstring>
#include <fstream>

#include "events/cgroups.h"
#include "tests/support/dropwatch_run.h"
#include "tests/support/netns.h"

namespace dw::test {
namespace {

using namespace std::chrono_literals;
using events::CgroupPaths;
using events::container_id;

struct IdCase {
  std::string path, id;
};

TEST(ContainerId, FromTheNamesRuntimesGive) {
  const std::string h(64, 'a'), g = std::string(63, 'b') + "c";
  const IdCase cases[] = {
      {"/system.slice/docker-" + h + ".scope", h},
      {"/docker/" + h, h},
      {"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice/cri-containerd-" +
           h + ".scope",
       h},
      {"/kubepods/besteffort/pod1234/" + h, h},
      {"/machine.slice/libpod-" + h + ".scope/container", h},
      {"/system.slice/crio-" + h + ".scope", h},
      {"/docker/" + h + "/docker/" + g, g},  // nested: the innermost
      {"/user.slice/user-0.slice/session-1.scope", ""},
      {"/system.slice/docker-" + h.substr(1) + ".scope", ""},  // 63 digits
      {"/system.slice/docker-" + std::string(64, 'A') + ".scope", ""},
      {"", ""},
  };
  for (const auto& c : cases) EXPECT_EQ(container_id(c.path), c.id) << c.path;
}

TEST(Attribution, ADropCarriesItsSocketsCgroupAndContainer) {
  CgroupPaths cg;
  ASSERT_FALSE(cg.mount().empty()) << "no cgroup2 mount";
  const std::string id(64, 'd');
  std::string parent = cg.mount() + "/dwtest" + std::to_string(getpid());
  std::string dir = parent + "/docker-" + id + ".scope";
  ASSERT_EQ(mkdir(parent.c_str(), 0755), 0) << std::strerror(errno);
  ASSERT_EQ(mkdir(dir.c_str(), 0755), 0) << std::strerror(errno);
  struct stat st;
  ASSERT_EQ(stat(dir.c_str(), &st), 0);

  NetnsPair ns("dwk");
  ASSERT_TRUE(ns.ok());
  // The container's socket is dropped in its own output path.
  ASSERT_EQ(nft_drop(ns.a(), "output", "udp dport 4501"), 0);
  std::string why;
  auto dw = start_dropwatch({"-o", "json", "--no-stack", "--filter", "udp port 4501"}, &why);
  ASSERT_TRUE(dw) << why;
  int rc = run_in_netns(ns.a(), "dw-container", [dir] {
    std::ofstream(dir + "/cgroup.procs") << getpid() << std::flush;
    send_udp(NetnsPair::kAddrB, 4501);
    return 0;
  });
  EXPECT_EQ(rc, 0);
  dw->wait_stdout([](const std::vector<std::string>& l) { return !l.empty(); }, 10s);
  dw->signal(SIGINT);
  ASSERT_EQ(dw->wait(10s), 0) << dw->stderr_text();
  auto evs = parse_events(dw->stdout_lines());
  ASSERT_EQ(evs.size(), 1u) << dw->stderr_text();
  const auto& e = evs[0];
  EXPECT_EQ(e["reason"], "NETFILTER_DROP");
  EXPECT_EQ(e["sk_cgroup_id"], uint64_t(st.st_ino)) << e.dump();
  EXPECT_EQ(e["cgroup_path"], "/dwtest" + std::to_string(getpid()) + "/docker-" + id + ".scope");
  EXPECT_EQ(e["container_id"], id);
  EXPECT_EQ(e["comm"], "dw-container");
  rmdir(dir.c_str());
  rmdir(parent.c_str());
}

}  // namespace
}  // namespace dw::test
