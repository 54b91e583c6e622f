#include "compiler/drop_filter.h"

namespace dw::filter {

Expected<DropFilter> compile_drop_filter(const std::string& expr) {
  DropFilter f;
  auto fe = compile_front(expr, {LinkType::Ethernet});
  if (!fe) return std::unexpected(fe.error());
  f.link = std::move(*fe);
  LowerOptions net_opts{LinkType::RawIp};
  net_opts.link_primitives_false = true;
  // An expression only about link headers ("ether host X") cannot match a
  // packet without one: it rejects everything there, which is no error.
  if (auto nfe = compile_front(expr, net_opts)) f.net = std::move(*nfe);
  return f;
}

}  // namespace dw::filter
