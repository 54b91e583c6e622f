// Name lookups as libpcap does them: services and protocols from the system
// databases (/etc/services, /etc/protocols through NSS), with a built-in
// table of the common ones when those files are absent; libpcap's own
// tables for ether and LLC protocol names.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace dw::filter::names {

constexpr int kProtoUndef = -1;

struct Port {
  int port;
  int proto;  // IPPROTO_TCP, IPPROTO_UDP, or kProtoUndef when both agree
};

// pcap_nametoport(): TCP first, then UDP.
std::optional<Port> service(const std::string& name);
// pcap_nametoportrange(): "N-M" or "name-name".
std::optional<std::pair<Port, Port>> service_range(const std::string& name);
// pcap_nametoproto(): IP protocol number.
std::optional<int> ip_protocol(const std::string& name);
// pcap_nametoeproto() then pcap_nametollc().
std::optional<int> ether_protocol(const std::string& name);
std::optional<int> llc_protocol(const std::string& name);

// __pcap_atoin(): dotted decimal with 1-4 parts; returns bits parsed or -1.
int atoin(const std::string& s, uint32_t& addr);

}  // namespace dw::filter::names
