// The --filter expression as dropwatch applies it, live and offline:
// compiled twice, for frames from the MAC header (the probe's link-level
// entry) and for packets from the IP header (the network-level entry),
// where link-level primitives are false.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "compiler/codegen.h"
#include "compiler/pipeline.h"

namespace dw::filter {

// The probe's two filter symbols (bpf/dropwatch.bpf.c).
inline constexpr const char* kProbeLinkEntry = "dw_filter_link";
inline constexpr const char* kProbeNetEntry = "dw_filter_net";

struct DropFilter {
  FrontEnd link;
  std::optional<FrontEnd> net;  // empty: nothing matches at the network level
  Dag reject_all;

  DropFilter() { reject_all.root = Dag::kReject; }
  const Dag& dag(LinkType t) const {
    if (t == LinkType::Ethernet) return link.dag;
    return net ? net->dag : reject_all;
  }
  // Both entries, for link_probe(); they point into this object.
  std::vector<FilterDef> defs() const {
    return {{kProbeLinkEntry, &link.dag}, {kProbeNetEntry, &dag(LinkType::RawIp)}};
  }
};

// An invalid expression is the link-level compile's diagnostic.
Expected<DropFilter> compile_drop_filter(const std::string& expr);

}  // namespace dw::filter
