// pcapng blocks as specified in draft-ietf-opsawg-pcapng, host byte order
// (the byte-order magic tells readers which).
#include "events/pcapng.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "events/text.h"

namespace dw::events {
namespace {

constexpr uint32_t kSectionHeader = 0x0A0D0D0A, kInterface = 1, kEnhancedPacket = 6;
constexpr uint16_t kOptEnd = 0, kOptComment = 1, kOptShbUserAppl = 4, kOptIfName = 2,
                   kOptIfDescription = 3, kOptIfTsresol = 9;
constexpr uint16_t kLinktypeEthernet = 1, kLinktypeRaw = 101;

void put32(std::string& b, uint32_t v) { b.append(reinterpret_cast<const char*>(&v), 4); }
void put16(std::string& b, uint16_t v) { b.append(reinterpret_cast<const char*>(&v), 2); }
void pad4(std::string& b) { b.append((4 - b.size() % 4) % 4, '\0'); }

void option(std::string& b, uint16_t code, const void* data, size_t len) {
  len = std::min<size_t>(len, 0xfffc);
  put16(b, code);
  put16(b, static_cast<uint16_t>(len));
  b.append(static_cast<const char*>(data), len);
  pad4(b);
}
void option(std::string& b, uint16_t code, const std::string& s) {
  option(b, code, s.data(), s.size());
}

// Wraps a block body: type, total length, body, total length.
std::string block(uint32_t type, std::string body) {
  body.append("\0\0\0\0", 4);  // opt_endofopt
  std::string b;
  uint32_t total = static_cast<uint32_t>(body.size() + 12);
  put32(b, type);
  put32(b, total);
  b += body;
  put32(b, total);
  return b;
}

}  // namespace

// Escaped as for a terminal: readers such as tshark print comments as they are.
std::string pcapng_comment(const DropEvent& ev) {
  std::string c =
      ev.reason.empty() ? "reason " + std::to_string(ev.reason_code) : escaped(ev.reason);
  if (!ev.location.empty()) c += " at " + escaped(ev.location);
  if (!ev.comm.empty()) c += " comm " + escaped(ev.comm);
  c += " pid " + std::to_string(ev.pid);
  c += " netns " + std::to_string(ev.netns);
  if (!ev.task_id.empty()) c += " task " + escaped(ev.task_id);
  if (ev.ct) c += " ct " + ev.ct->state;
  if (ev.nft)
    c += " nft " + escaped(ev.nft->family + " " + ev.nft->table + " " + ev.nft->chain) +
         " handle " + std::to_string(ev.nft->handle);
  return c;
}

Result<PcapngWriter> PcapngWriter::open(const std::string& path, uint32_t snaplen,
                                        const OpenOptions& o) {
  auto f = RecordStream::open(path, o);
  if (!f) return std::unexpected(f.error());
  PcapngWriter w(std::move(*f), snaplen);
  std::string body;
  put32(body, 0x1A2B3C4D);  // byte-order magic
  put16(body, 1);           // version 1.0
  put16(body, 0);
  put32(body, 0xffffffff);  // section length: not given
  put32(body, 0xffffffff);
  option(body, kOptShbUserAppl, std::string("dropwatch"));
  // Written at once: a device that refuses writes fails here, before the probe.
  w.file_.add(block(kSectionHeader, std::move(body)), false);
  if (auto ok = w.file_.pump(); !ok) return std::unexpected(ok.error());
  return w;
}

uint32_t PcapngWriter::interface_for(const DropEvent& ev, uint16_t linktype) {
  auto key = std::make_tuple(ev.netns, ev.ifindex, linktype);
  auto it = interfaces_.find(key);
  if (it != interfaces_.end()) return it->second;
  uint32_t id = static_cast<uint32_t>(interfaces_.size());
  interfaces_.emplace(key, id);
  std::string body;
  put16(body, linktype);
  put16(body, 0);
  put32(body, snaplen_);
  std::string name = ev.ifindex == 0     ? std::string("none")
                     : ev.ifname.empty() ? "if" + std::to_string(ev.ifindex)
                                         : ev.ifname;
  option(body, kOptIfName, name);
  option(body, kOptIfDescription,
         "netns " + std::to_string(ev.netns) + " ifindex " + std::to_string(ev.ifindex) +
             (linktype == kLinktypeRaw ? " (network layer)" : ""));
  uint8_t nanoseconds = 9;
  option(body, kOptIfTsresol, &nanoseconds, 1);
  file_.add(block(kInterface, std::move(body)), false);
  return id;
}

void PcapngWriter::write(const DropEvent& ev) {
  if (ev.packet.empty()) {  // nothing captured: no frame to show
    no_bytes_++;
    return;
  }
  uint16_t linktype = ev.link == LinkType::Ethernet ? kLinktypeEthernet : kLinktypeRaw;
  uint32_t ifid = interface_for(ev, linktype);
  uint64_t ts = ev.realtime_ns > 0 ? static_cast<uint64_t>(ev.realtime_ns) : 0;
  std::string body;
  put32(body, ifid);
  put32(body, static_cast<uint32_t>(ts >> 32));
  put32(body, static_cast<uint32_t>(ts));
  put32(body, static_cast<uint32_t>(ev.packet.size()));
  put32(body, std::max<uint32_t>(ev.wire_len, static_cast<uint32_t>(ev.packet.size())));
  body.append(reinterpret_cast<const char*>(ev.packet.data()), ev.packet.size());
  pad4(body);
  option(body, kOptComment, pcapng_comment(ev));
  file_.add(block(kEnhancedPacket, std::move(body)));
}

std::string PcapngWriter::report() const {
  const std::string& path = file_.path();
  std::string r = "dropwatch: " + std::to_string(written()) + " packets written to " + path;
  if (packets() == 0 && file_.created()) r += " (removed: empty)";
  if (unwritten()) r += "; " + std::to_string(unwritten()) + " packets could not be written";
  if (no_bytes_) r += ", " + std::to_string(no_bytes_) + " events without packet bytes left out";
  return r + "\n";
}

void PcapngWriter::close(Clock::time_point deadline) {
  (void)file_.close(deadline, /*remove_if_none=*/true);  // headers only: no capture
}

}  // namespace dw::events
