// Dropped packets as pcapng (tcpdump's -w), written as they arrive.
//
// libpcap 1.10 writes only classic pcap, which has one link type per file and
// no comments; a drop capture needs both (Ethernet frames and raw IP packets
// side by side, the reason on every packet), so this small writer does the
// four block types it needs: a section header, an interface per (namespace,
// device, link type), and one enhanced packet block per drop with a comment.
#pragma once

#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <tuple>

#include "probe/event.h"
#include "probe/result.h"

namespace dw {

class PcapngWriter {
 public:
  // Opens (truncates) `path`, "-" for standard output, and writes the section
  // header, so an unwritable path fails before the probe is attached.
  static Result<PcapngWriter> open(const std::string& path, uint32_t snaplen);
  PcapngWriter(PcapngWriter&&) noexcept;
  PcapngWriter& operator=(PcapngWriter&&) = delete;
  ~PcapngWriter();

  // Appends the packet; false (errno set) when the write failed.
  bool write(const DropEvent& ev);
  // Hands buffered blocks to the file; false (errno set) on a write error.
  bool flush() { return !f_ || std::fflush(f_) == 0; }
  // Flushes and closes; a file that received no packet is removed (it would
  // hold headers only). False (errno set) when the last writes failed.
  bool close();
  uint64_t packets() const { return packets_; }

 private:
  PcapngWriter(FILE* f, std::string path, uint32_t snaplen)
      : f_(f), path_(std::move(path)), snaplen_(snaplen) {}
  uint32_t interface_for(const DropEvent& ev, uint16_t linktype);
  bool put(const std::string& block);

  FILE* f_ = nullptr;
  std::string path_;
  uint32_t snaplen_;
  uint64_t packets_ = 0;
  std::map<std::tuple<uint32_t, int32_t, uint16_t>, uint32_t> interfaces_;
};

// The comment each packet carries: "NO_SOCKET at tcp_v4_rcv+0x1a2 comm
// curl pid 4242 netns 4026531840".
std::string pcapng_comment(const DropEvent& ev);

}  // namespace dw
