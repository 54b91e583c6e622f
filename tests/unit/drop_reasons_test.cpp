#include "probe/drop_reasons.h"
#include "probe/kernel_features.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <regex>
#include <sstream>

namespace dw::probe {
namespace {

struct BtfFree {
  void operator()(btf* b) const { btf__free(b); }
};
using BtfPtr = std::unique_ptr<btf, BtfFree>;

// A BTF with only `enum skb_drop_reason`, as kernels 5.17-6.3 have it.
BtfPtr core_only_btf() {
  BtfPtr b(btf__new_empty());
  int id = btf__add_enum(b.get(), "skb_drop_reason", 4);
  EXPECT_GT(id, 0);
  btf__add_enum_value(b.get(), "SKB_NOT_DROPPED_YET", 0);
  btf__add_enum_value(b.get(), "SKB_CONSUMED", 1);
  btf__add_enum_value(b.get(), "SKB_DROP_REASON_NOT_SPECIFIED", 2);
  btf__add_enum_value(b.get(), "SKB_DROP_REASON_NO_SOCKET", 3);
  btf__add_enum_value(b.get(), "SKB_DROP_REASON_MAX", 4);
  return b;
}

TEST(DropReasons, CoreOnlyBtfHasNoSubsystems) {
  BtfPtr b = core_only_btf();
  DropReasons r = DropReasons::from_btf(b.get());
  EXPECT_EQ(r.name(3), "NO_SOCKET");
  EXPECT_EQ(r.name(2), "NOT_SPECIFIED");
  EXPECT_EQ(r.subsystem(3), "core");
  EXPECT_EQ(r.name(4), "UNKNOWN(4)") << "MAX is a bound, not a reason";
  EXPECT_EQ(r.name(0x10002), "UNKNOWN(65538)");
  EXPECT_EQ(r.subsystem(0x10002), "UNKNOWN(1)");
  EXPECT_EQ(r.code("NO_SOCKET"), 3u);
  EXPECT_FALSE(r.code("NO_SUCH_REASON"));
}

// Before 5.17 the kernel has no enum skb_drop_reason: nothing to name, and
// every event says so.
TEST(DropReasons, AKernelWithoutReasonsSaysUnreported) {
  BtfPtr b(btf__new_empty());
  btf__add_int(b.get(), "int", 4, BTF_INT_SIGNED);
  DropReasons r = DropReasons::from_btf(b.get());
  EXPECT_FALSE(r.reported());
  EXPECT_EQ(r.name(0), "UNREPORTED");
  EXPECT_TRUE(r.all().empty());
  EXPECT_TRUE(DropReasons::from_btf(core_only_btf().get()).reported());
}

TEST(KernelFeatures, TheLineSaysWhatIsMissingAndWhatThatChanges) {
  KernelFeatures f;
  f.release = "5.10.0-32-amd64";
  EXPECT_EQ(f.lacking(), "");
  f.drop_reasons = false;
  f.socket_cgroup = false;
  EXPECT_EQ(f.lacking(),
            "kernel 5.10.0-32-amd64 lacks drop reasons (5.17+): events say reason UNREPORTED, "
            "--reason selects nothing; the socket's cgroup (5.15+): no cgroup_path or "
            "container_id");
  auto here = KernelFeatures::detect();
  ASSERT_TRUE(here) << here.error().message;
  EXPECT_FALSE(here->release.empty());
}

TEST(DropReasons, SubsystemEnumsFoundByIdInTheTop16Bits) {
  BtfPtr base = core_only_btf();
  btf__add_enum(base.get(), "skb_drop_reason_subsys", 4);
  btf__add_enum_value(base.get(), "SKB_DROP_REASON_SUBSYS_CORE", 0);
  btf__add_enum_value(base.get(), "SKB_DROP_REASON_SUBSYS_MAC80211_UNUSABLE", 1);
  btf__add_enum_value(base.get(), "SKB_DROP_REASON_SUBSYS_OPENVSWITCH", 2);
  btf__add_enum_value(base.get(), "SKB_DROP_REASON_SUBSYS_NUM", 3);
  // Module BTF, split on top of the base, as /sys/kernel/btf/openvswitch is.
  BtfPtr ovs(btf__new_empty_split(base.get()));
  btf__add_enum(ovs.get(), "ovs_drop_reason", 4);
  btf__add_enum_value(ovs.get(), "OVS_DROP_LAST_ACTION", 2 << 16);
  btf__add_enum_value(ovs.get(), "OVS_DROP_ACTION_ERROR", (2 << 16) + 1);
  // An unrelated enum with a value that looks like a subsystem id.
  btf__add_enum(ovs.get(), "some_flags", 4);
  btf__add_enum_value(ovs.get(), "SOME_FLAG", 2 << 16);

  DropReasons r = DropReasons::from_btf(base.get(), {ovs.get()});
  EXPECT_EQ(r.name(2 << 16), "OVS_DROP_LAST_ACTION");
  EXPECT_EQ(r.name((2 << 16) + 1), "OVS_DROP_ACTION_ERROR");
  EXPECT_EQ(r.subsystem((2 << 16) + 1), "openvswitch");
  EXPECT_EQ(r.subsystem(1 << 16), "mac80211_unusable");
  EXPECT_EQ(r.name(3), "NO_SOCKET");
}

// The classic tracepoint's format file carries the kernel's own table of core
// reasons (__print_symbolic); every pair must match what we read from BTF.
TEST(DropReasons, RunningKernelMatchesTracepointFormat) {
  auto r = DropReasons::from_kernel();
  ASSERT_TRUE(r) << r.error().message;
  std::ifstream f("/sys/kernel/tracing/events/skb/kfree_skb/format");
  ASSERT_TRUE(f) << "tracefs not mounted at /sys/kernel/tracing (scripts/test mounts it)";
  std::stringstream ss;
  ss << f.rdbuf();
  std::string text = ss.str();
  std::regex pair(R"re(\{ (\d+), "([A-Z0-9_]+)" \})re");
  int checked = 0;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), pair); it != std::sregex_iterator();
       ++it) {
    uint32_t code = std::stoul((*it)[1]);
    std::string name = (*it)[2];
    if (name == "MAX") continue;
    EXPECT_EQ(r->name(code), name) << "code " << code;
    checked++;
  }
  EXPECT_GT(checked, 50);
  EXPECT_TRUE(r->code("NO_SOCKET"));
}

}  // namespace
}  // namespace dw::probe
