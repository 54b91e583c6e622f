// dropfilter: compile a tcpdump filter expression to eBPF, show each stage,
// or run it in the kernel over a pcap file.
#include <pcap/pcap.h>

#include <cstdio>
#include <string>
#include <vector>

#include "cli/exit_codes.h"
#include "cli/filter_file.h"
#include "cli/man_formatter.h"
#include "cli/words.h"
#include "compiler/codegen.h"
#include "compiler/disasm.h"
#include "compiler/link.h"
#include "compiler/pipeline.h"
#include "probe/filter_harness.h"

namespace {

using dw::cli::kExitFailure;
using dw::cli::kExitOk;
using dw::cli::kExitUsage;

const char* kDescription =
    "Compiles a tcpdump (pcap-filter) expression with dropwatch's own compiler\n"
    "-- parser, IR, libLLVM's BPF backend -- into an eBPF function whose verdict\n"
    "equals libpcap's on every packet. Shows any stage, or runs the filter in the\n"
    "kernel (BPF_PROG_TEST_RUN) over the frames of a pcap file.\n";

const char* kFooter = R"(EXAMPLES
  dropfilter 'tcp port 443'
      Compile; print the instruction count.
  dropfilter --dump-bpf 'tcp port 443'
      The eBPF code, numbered as bpftool prints it (compare tcpdump -d).
  dropfilter --dump-ir 'host 10.0.0.1 and port 80 or 443'
      The IR: qualifier inheritance and libpcap's protocol checks spelled out.
  dropfilter --pcap drops.pcap 'icmp or arp'
      The 1-based numbers of the frames the filter accepts, one a line.
  dropfilter --dump-bpf tcp port 443
      The expression as words, as tcpdump takes it.
  dropfilter -F hosts.filter
      The expression read from a file (tcpdump -F): several lines, '#' to the
      end of a line a comment; an error names FILE:LINE:COLUMN.

ERRORS
  An invalid expression prints libpcap's message (where libpcap has one) with
  the expression and a caret line under the offending columns:
    filter:1:10-14: error: illegal port number 70000 > 65535
    tcp port 70000
             ^~~~~
  Expressions nested deeper than 500 levels, and expressions whose code
  would be too large for eBPF, are refused the same way.

PCAP FILES
  --pcap links the filter into a test program with the same 4096-byte buffer
  as dropwatch's probe, so the verdicts are those of the probe's own code.
  A file whose snapshot length is larger gets a buffer that holds its whole
  frames (a power of two up to 262144 bytes): the code then differs from the
  probe's only in that size.

EXIT STATUS
  0  compiled (and, with --pcap, ran)
  1  the expression is invalid, its -F file could not be read, the verifier
     refused the program, or the pcap file could not be read
  2  invalid option, no expression, or two (words and -F)
)";

// The harness buffer for a file's frames: the probe's, or the next power
// of two that holds the snapshot length.
uint32_t capacity_for(pcap_t* p) {
  uint32_t cap = 4096;
  uint32_t snap = uint32_t(std::max(0, pcap_snapshot(p)));
  while (cap < snap && cap < 262144) cap *= 2;
  return cap;
}

// The frames the filter accepts, one 1-based number a line.
int run_frames(pcap_t* p, dw::probe::FilterHarness& h, const std::string& path) {
  pcap_pkthdr* hdr;
  const u_char* data;
  uint64_t n = 0;
  int rc;
  std::string out;
  while ((rc = pcap_next_ex(p, &hdr, &data)) == 1) {
    n++;
    auto v = h.run(std::span<const uint8_t>(data, hdr->caplen), hdr->len);
    if (!v) {
      std::fprintf(stderr, "dropfilter: frame %llu: %s\n", (unsigned long long)n,
                   v.error().message.c_str());
      return kExitFailure;
    }
    if (*v) out += std::to_string(n) + "\n";
  }
  std::fputs(out.c_str(), stdout);
  if (rc == -1) {
    std::fprintf(stderr, "dropfilter: %s: %s\n", path.c_str(), pcap_geterr(p));
    return kExitFailure;
  }
  return kExitOk;
}

// The expression, and where it came from for its errors ("filter", or -F's file).
struct Source {
  std::string text, origin = "filter";
};

int run_pcap(pcap_t* p, const std::string& path, const Source& src) {
  const std::string& expr = src.text;
  int dlt = pcap_datalink(p);
  dw::filter::LowerOptions lo;
  if (dlt == DLT_EN10MB) {
    lo.link = dw::filter::LinkType::Ethernet;
  } else if (dlt == DLT_RAW) {
    lo.link = dw::filter::LinkType::RawIp;
  } else {
    const char* name = pcap_datalink_val_to_name(dlt);
    std::fprintf(stderr, "dropfilter: %s: link type %s is not supported (Ethernet or raw IP)\n",
                 path.c_str(), name ? name : "?");
    return kExitFailure;
  }
  auto fe = dw::filter::compile_front(expr, lo);
  if (!fe) {
    std::fputs(fe.error().render(expr, src.origin).c_str(), stderr);
    return kExitFailure;
  }
  dw::filter::ObjectOptions oo;
  oo.capacity = capacity_for(p);
  auto elf = dw::filter::link_harness({"dw_filter", &fe->dag}, oo);
  if (!elf) {
    std::fprintf(stderr, "dropfilter: %s\n", elf.error().message.c_str());
    return kExitFailure;
  }
  auto h = dw::probe::FilterHarness::load(*elf, oo.capacity);
  if (!h) {
    std::fprintf(stderr, "dropfilter: %s\n", h.error().message.c_str());
    return kExitFailure;
  }
  return run_frames(p, **h, path);
}

int run_pcap_file(const std::string& path, const Source& src) {
  char err[PCAP_ERRBUF_SIZE];
  pcap_t* p = pcap_open_offline(path.c_str(), err);
  if (!p) {
    std::fprintf(stderr, "dropfilter: %s\n", err);
    return kExitFailure;
  }
  int rc = run_pcap(p, path, src);
  pcap_close(p);
  return rc;
}

struct Dumps {
  bool ast = false, ir = false, dag = false, llvm = false, bpf = false;
  bool any() const { return ast || ir || dag || llvm || bpf; }
};

int compile(const Source& src, const std::string& link, const Dumps& d) {
  dw::filter::LowerOptions lo;
  lo.link = link == "raw" ? dw::filter::LinkType::RawIp : dw::filter::LinkType::Ethernet;
  auto fe = dw::filter::compile_front(src.text, lo);
  if (!fe) {
    std::fputs(fe.error().render(src.text, src.origin).c_str(), stderr);
    return kExitFailure;
  }
  if (d.ast)
    std::printf("%s\n", fe->ast ? dw::filter::dump(*fe->ast).c_str() : "(empty: every packet)");
  if (d.ir) std::fputs(dw::filter::ir::print(fe->ir).c_str(), stdout);
  if (d.dag) std::fputs(dw::filter::print(fe->dag).c_str(), stdout);
  std::string llvm_ir;
  dw::filter::ObjectOptions oo;
  if (d.llvm) oo.llvm_ir = &llvm_ir;
  auto obj = dw::filter::compile_filters({{"dw_filter", &fe->dag}}, oo);
  if (!obj) {  // too large for eBPF: about the whole expression
    std::fprintf(stderr, "dropfilter: %s\n", obj.error().message.c_str());
    return kExitFailure;
  }
  if (d.llvm) std::fputs(llvm_ir.c_str(), stdout);
  size_t count = 0;
  std::string listing = dw::filter::disassemble(*obj, "dw_filter", &count);
  if (d.bpf) std::printf("%s(%zu instructions)\n", listing.c_str(), count);
  if (!d.any()) std::printf("dropfilter: compiled, %zu eBPF instructions\n", count);
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app(kDescription, "dropfilter");
  dw::cli::install_formatter(app, "[OPTIONS] EXPRESSION...");
  app.footer(kFooter);
  std::vector<std::string> words;
  std::string link = "ether", pcap_path;
  Dumps d;
  // allow_extra_args(false): CLI11 would read "[tcp]" as a list and drop
  // the brackets, accepting what libpcap calls a syntax error. It then takes
  // one word; the others are the app's extras (cli/words.h).
  std::string filter_file;
  app.add_option("expression", words, "The filter, as one argument or several words")
      ->allow_extra_args(false)
      ->group("Expression");
  app.add_option("-F,--filter-file", filter_file,
                 "Read the expression from FILE, as tcpdump -F: several lines, # to the end of "
                 "a line a comment")
      ->type_name("FILE")
      ->group("Expression");
  app.add_option("-l,--link-type", link,
                 "Link layer the packets start with: ether (Ethernet, as on a NIC) or raw "
                 "(an IP header first). With --pcap, taken from the file. Default: ether")
      ->type_name("TYPE")
      ->check(CLI::IsMember({"ether", "raw"}))
      ->group("Compilation");
  app.add_flag("--dump-ast", d.ast, "Print the syntax tree, qualifiers resolved")->group("Stages");
  app.add_flag("--dump-ir", d.ir, "Print the IR after constant folding")->group("Stages");
  app.add_flag("--dump-dag", d.dag, "Print the decision DAG after libpcap's jump threading")
      ->group("Stages");
  app.add_flag("--dump-llvm", d.llvm, "Print the LLVM IR after optimization")->group("Stages");
  app.add_flag("--dump-bpf", d.bpf, "Print the eBPF instructions, numbered, with the count")
      ->group("Stages");
  app.add_option("--pcap", pcap_path,
                 "Run the filter in the kernel on every frame of FILE (Ethernet or raw IP) and "
                 "print the 1-based numbers of the frames it accepts")
      ->type_name("FILE")
      ->group("Running");
  app.allow_extras();
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "dropfilter: %s\nRun 'dropfilter --help' for the options.\n", e.what());
    return kExitUsage;
  }
  auto all = dw::cli::words_left(app, words);
  if (!all) {
    std::fprintf(stderr, "dropfilter: %s\nRun 'dropfilter --help' for the options.\n",
                 all.error().message.c_str());
    return kExitUsage;
  }
  Source src{dw::cli::join_words(*all)};
  if (!filter_file.empty()) {
    if (!all->empty()) {
      std::fprintf(stderr, "dropfilter: two expressions: -F %s and the words '%s' (give one)\n",
                   filter_file.c_str(), src.text.c_str());
      return kExitUsage;
    }
    auto text = dw::cli::read_filter_file(filter_file);
    if (!text) {
      std::fprintf(stderr, "dropfilter: %s\n", text.error().message.c_str());
      return kExitFailure;
    }
    src = {*text, filter_file};
  } else if (all->empty()) {
    std::fprintf(stderr,
                 "dropfilter: no expression: give one, as words or with -F FILE\n"
                 "Run 'dropfilter --help' for the options.\n");
    return kExitUsage;
  }
  if (!pcap_path.empty()) return run_pcap_file(pcap_path, src);
  return compile(src, link, d);
}
