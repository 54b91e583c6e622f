// Dropped packets as pcapng (tcpdump's -w), written as they arrive.
//
// libpcap 1.10 writes only classic pcap, which has one link type per file and
// no comments; a drop capture needs both (Ethernet frames and raw IP packets
// side by side, the reason on every packet), so this small writer does the
// four block types it needs: a section header, an interface per (namespace,
// device, link type), and one enhanced packet block per drop with a comment.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <tuple>

#include "probe/event.h"
#include "probe/record_file.h"
#include "probe/result.h"

namespace dw {

class PcapngWriter {
 public:
  // Opens (truncates) `path`, "-" for standard output, and writes the section
  // header at once, so an unwritable path fails before the probe is attached.
  static Result<PcapngWriter> open(const std::string& path, uint32_t snaplen);
  PcapngWriter(PcapngWriter&&) noexcept;
  PcapngWriter& operator=(PcapngWriter&&) = delete;
  ~PcapngWriter() { close(); }

  // Appends the packet; false (errno set) when the write failed.
  bool write(const DropEvent& ev);
  // Hands buffered blocks to the file; false (errno set) on a write error.
  bool flush() { return file_.flush(); }
  // Flushes and closes; a file that received no packet is removed (it would
  // hold headers only). False (errno set) when the last writes failed.
  bool close();
  uint64_t packets() const { return file_.records(); }
  // Packets known to be in the file, and those handed to write() that are
  // not (after a write error). The file ends on a whole block.
  uint64_t written() const { return file_.written(); }
  uint64_t unwritten() const { return file_.unwritten(); }
  // After close(): "N packets written to PATH[ (removed: empty)][; M packets
  // could not be written][, K events without packet bytes left out]\n".
  std::string report() const;

 private:
  PcapngWriter(RecordFile f, uint32_t snaplen) : file_(std::move(f)), snaplen_(snaplen) {}
  uint32_t interface_for(const DropEvent& ev, uint16_t linktype);

  RecordFile file_;
  uint32_t snaplen_;
  bool closed_ = false;
  uint64_t no_bytes_ = 0;  // events without captured bytes: no frame
  std::map<std::tuple<uint32_t, int32_t, uint16_t>, uint32_t> interfaces_;
};

// The comment each packet carries: "NO_SOCKET at tcp_v4_rcv+0x1a2 comm
// curl pid 4242 netns 4026531840".
std::string pcapng_comment(const DropEvent& ev);

}  // namespace dw
