// What captured bytes start with, for the compiler (which link layer a
// filter is compiled for) and for the event model (how a captured packet
// is decoded): the two link types dropwatch knows.
#pragma once

namespace dw {

enum class LinkType {
  Ethernet,  // a MAC header first (LINKTYPE_ETHERNET)
  RawIp,     // an IPv4 or IPv6 header first (LINKTYPE_RAW)
};

}  // namespace dw
