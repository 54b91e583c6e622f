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

#include "common/result.h"
#include "events/event.h"
#include "events/record_stream.h"
#include "events/sink.h"

namespace dw::events {

class PcapngWriter : public Sink {
 public:
  // Opens `path` (RecordStream::open), "-" for standard output, and writes
  // the section header at once, so an unwritable path fails before the
  // probe is attached.
  static Result<PcapngWriter> open(const std::string& path, uint32_t snaplen,
                                   const OpenOptions& o = {});
  PcapngWriter(PcapngWriter&&) noexcept = default;
  PcapngWriter& operator=(PcapngWriter&&) = delete;

  // Appends the packet (an event without captured bytes has no frame).
  void write(const DropEvent& ev) override;
  void flush(const Tick&) override { (void)file_.pump(); }
  // Writes what is queued and closes; a file this run created that
  // received no packet is removed (it would hold headers only).
  void close(Clock::time_point deadline) override;
  // "dropwatch: N packets written to PATH[ (removed: empty)][; M packets
  // could not be written][, K events without packet bytes left out]\n"
  std::string report() const override;
  const Error* failure() const override { return file_.failed() ? &file_.error() : nullptr; }
  bool done() const override { return file_.reader_gone(); }

  uint64_t packets() const { return file_.records(); }
  uint64_t written() const { return file_.written(); }
  uint64_t unwritten() const { return file_.unwritten(); }
  FileId id() const { return file_.id(); }

 private:
  PcapngWriter(RecordStream f, uint32_t snaplen) : file_(std::move(f)), snaplen_(snaplen) {}
  uint32_t interface_for(const DropEvent& ev, uint16_t linktype);

  RecordStream file_;
  uint32_t snaplen_;
  uint64_t no_bytes_ = 0;  // events without captured bytes: no frame
  std::map<std::tuple<uint32_t, int32_t, uint16_t>, uint32_t> interfaces_;
};

// The comment each packet carries: "NO_SOCKET at tcp_v4_rcv+0x1a2 comm
// curl pid 4242 netns 4026531840".
std::string pcapng_comment(const DropEvent& ev);

}  // namespace dw::events
