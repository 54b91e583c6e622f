#include "events/printer.h"

#include "events/format.h"

namespace dw::events {

void EventPrinter::write(const DropEvent& ev) {
  buf_.clear();
  if (o_.format == Format::Json)
    format_json(ev, buf_, o_.packet_data);
  else
    format_text(ev, buf_, o_.stack);
  out_.add(buf_);
}

std::string StreamSink::report() const {
  if (s_.failed() || !s_.unwritten()) return "";
  std::string r =
      "dropwatch: " + std::to_string(s_.unwritten()) + " events could not be written to " + what_;
  if (s_.dropped()) r += " (" + std::to_string(s_.dropped()) + " while the reader did not keep up)";
  return r + "\n";
}

}  // namespace dw::events
