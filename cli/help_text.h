// The prose of dropwatch's --help: what it does, examples, the behaviour
// behind the flags, exit statuses (cli/exit_codes.h). docs/cli.md says the
// same at more length.
#pragma once

namespace dw::cli {

inline constexpr const char* kDescription =
    "Reports the packets the kernel drops, why and where: one eBPF program on the\n"
    "skb:kfree_skb tracepoint reads each drop's reason, the function that dropped\n"
    "it, the device, network namespace, task, the first bytes of the packet and\n"
    "the kernel stack, and writes one event per drop.\n";

inline constexpr const char* kFooter = R"(EXAMPLES
  dropwatch
      Every drop, as text on a terminal, NDJSON in a pipe.
  dropwatch --output json | jq 'select(.reason == "NO_SOCKET")'
      Drops for which no socket was found, with jq.
  dropwatch --output json --count 10 --no-stack
      The next ten drops, without stacks (cheaper: ~5 us less per event).
  dropwatch --duration 60 --snaplen 128 > drops.ndjson
      One minute of drops, 128 bytes of each packet.
  dropwatch --filter 'src net 10.0.0.0/8 and tcp dst port 3306'
      Only drops of MySQL traffic from 10/8: tested in the kernel, nothing
      else reaches userspace.
  dropwatch -o json tcp port 443
      The filter as tcpdump takes it, as words after the options.
  dropwatch -F blocked-hosts.filter
      The filter read from a file, as tcpdump -F reads one: a list over
      several lines, '#' comments.
  dropwatch --device eth0 --output json | jq .reason
      Drops on eth0 of dropwatch's own network namespace.
  dropwatch --netns /run/netns/blue --device eth0 --reason NO_SOCKET,NETFILTER_DROP
      Two reasons, on eth0 inside namespace "blue".
  dropwatch --max-events-per-second 1000 --no-stack
      At most 1000 events a second; the rest are counted as suppressed.
  dropwatch -w drops.pcapng --filter 'tcp port 443'
      Dropped HTTPS packets to a pcapng file; Wireshark shows each one's
      reason, location and task as its packet comment.
  dropwatch --output-file drops.ndjson -C 100 -W 10
      Events with their packet bytes to a ring of ten files of ~100 MB:
      drops.ndjson0 .. drops.ndjson9.
  dropwatch print drops.ndjson --filter 'udp'
      Stored events as text; the filter selects what it would have live.
  dropwatch pcap drops.ndjson -o drops.pcapng
      Stored events to pcapng, as -w would have written them.
  dropwatch --output-storage unix:/run/huatuo/events.sock --filter tcp
      Events to a collector's unix socket, as huatuo-bamai reads them.
  dropwatch --metrics 127.0.0.1:9464 --summary 60
      Prometheus metrics of every drop, a table on stdout every minute.
  dropwatch --summary 5 --no-stack
      Every 5 s, the top 10 (reason, location, device) of the drops, with
      rates; the whole run's table at exit.

FILTERS
  --filter takes tcpdump's language (see dropfilter --help and
  docs/filter-language.md). Frames with a MAC header on an Ethernet-like
  device are filtered from the MAC header; packets with only a network header
  (locally generated, tunnels) from the IP header, where link-level primitives
  such as "ether host" or "vlan" are false. With a filter, a drop with neither
  header is counted, never shown. Gates run in the kernel, cheapest first:
  noise locations, reason, namespace, device, filter, rate limit.

NOISE
  Drops that are not data-plane losses are suppressed by default: a closing
  TCP socket (skb_rbtree_purge), a failed neighbour entry (neigh_invalidate),
  bnxt TX completion (bnxt_tx_int). A rule is an RE2 pattern matching a whole
  function name; drops located in the functions it names are skipped in the
  kernel, drops with such a function deeper in the stack in userspace (this
  needs stacks). Both are counted in the exit summary.

OUTPUT
  Events go to stdout: NDJSON (one object per line, huatuo dropwatch field
  names, see docs/events.md) or text (a Retis-like header line, a tcpdump-style
  packet line, the stack). Messages and the exit summary go to stderr. Once the
  probe is attached dropwatch prints "dropwatch: watching ..." on stderr.
  With -w FILE the captured packets go to FILE as pcapng instead (events are
  printed too with --print): Ethernet frames and, for drops seen before or
  without a MAC header, raw IP packets, each on an interface named after its
  device, with nanosecond kernel timestamps, the wire length and a comment
  "REASON at LOCATION comm COMM pid PID netns INODE". Drops without captured
  bytes have no frame. A file that received no packet is removed.
  --output-file FILE writes the events to FILE instead of stdout, with their
  packet bytes when the format is json (as --packet-data), so that "dropwatch
  print" and "dropwatch pcap" can filter and convert them later. A write error
  stops dropwatch with exit status 1 and says how many events were lost.
  Writing never holds up the probe: a reader that does not keep up (a stalled
  pipe, a collector that stops reading) gets what fits in an 8 MiB queue, the
  rest is counted in the exit summary. Output files are not followed through
  symbolic links (--follow-symlinks), a new file is created exclusively, and
  only a file dropwatch created is removed when it stayed empty.

COMMANDS
  dropwatch print FILE... [--filter EXPR] [-o text|json] [--no-stack]
  dropwatch pcap FILE... -o OUT.pcapng [--filter EXPR]
      Read stored NDJSON events ("-" for stdin). A line that is not an event
      is reported as FILE:LINE and skipped (exit status 1 at the end); the
      rest is processed. The filter runs on the stored packet bytes with the
      compiled expression dropwatch would have linked into the probe.

EXIT STATUS
  0  stopped by --count, --duration, SIGINT, SIGTERM, or the reader of
     standard output going away
  1  the probe could not start (not root, no BTF, no tracepoint), or events
     could not be written
  2  invalid option or value: a flag, a filter expression, a device, a drop
     reason, a namespace, a -w file that cannot be written

Needs root, or CAP_BPF, CAP_PERFMON and CAP_SYSLOG (docs/deploy.md), and a
kernel with BTF (5.17+ for drop reasons).
)";

inline constexpr const char* kOfflineFooter = R"(EXAMPLES
  dropwatch print drops.ndjson --filter 'tcp port 443' --no-stack
  dropwatch print drops.ndjson0 drops.ndjson1 -o json | jq .reason
  dropwatch pcap drops.ndjson -o drops.pcapng --filter 'icmp or icmp6'
  dropwatch summary drops.ndjson* --top 20 --filter 'tcp'

  Lines that are not events are reported as FILE:LINE and skipped; the rest
  is read. The filter is the one dropwatch links into the probe, run on the
  stored packet bytes ("packet"; events stored without them do not match).

EXIT STATUS
  0  every line was an event and the output was written
  1  some lines were not events, or the output could not be written
  2  invalid option, filter expression, unreadable input, unwritable output
)";

inline constexpr const char* kReasonsFooter = R"(EXAMPLES
  dropwatch reasons
  dropwatch reasons NO_SOCKET netfilter_drop
  dropwatch reasons | grep -A3 '^TCP_'

  The reasons are the running kernel's, read from its BTF (as --list-reasons
  lists them); what they mean comes from dropwatch's own catalogue. A reason
  the catalogue does not know is listed as such.

EXIT STATUS
  0  the reasons were printed
  1  the kernel's BTF could not be read
  2  an unknown reason name (close names are suggested)
)";

}  // namespace dw::cli
