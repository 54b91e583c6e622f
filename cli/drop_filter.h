// The --filter expression as dropwatch applies it, live and offline: compiled
// twice, for frames from the MAC header and for packets from the IP header,
// where link-level primitives are false.
#pragma once

#include <optional>
#include <string>

#include "compiler/pipeline.h"

namespace dw::cli {

struct DropFilter {
  std::optional<filter::FrontEnd> link, net;  // net empty: nothing at that level matches
  filter::Dag reject_all;
  const filter::Dag& net_dag() const { return net ? net->dag : reject_all; }
};

// Nothing when the expression is invalid; *error is then the rendered
// message with the caret line.
inline std::optional<DropFilter> compile_drop_filter(const std::string& expr, std::string* error) {
  DropFilter f;
  f.reject_all.root = filter::Dag::kReject;
  auto fe = filter::compile_front(expr, {filter::LinkType::Ethernet});
  if (!fe) {
    *error = fe.error().render(expr);
    return std::nullopt;
  }
  f.link = std::move(*fe);
  filter::LowerOptions net_opts{filter::LinkType::RawIp};
  net_opts.link_primitives_false = true;
  auto nfe = filter::compile_front(expr, net_opts);
  if (nfe) f.net = std::move(*nfe);
  return f;
}

}  // namespace dw::cli
