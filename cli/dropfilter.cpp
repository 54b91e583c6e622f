// dropfilter: compile a tcpdump filter expression to eBPF, show each stage,
// or run it in the kernel over a pcap file.
#include <pcap/pcap.h>

#include <cstdio>
#include <string>
#include <vector>

#include "cli/help.h"
#include "compiler/codegen.h"
#include "compiler/pipeline.h"
#include "probe/filter_harness.h"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitError = 1;  // the expression is invalid, or running it failed
constexpr int kExitUsage = 2;

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

ERRORS
  An invalid expression prints libpcap's message (where libpcap has one) with
  the expression and a caret line under the offending columns:
    filter:1:10-14: error: illegal port number 70000 > 65535
    tcp port 70000
             ^~~~~

EXIT STATUS
  0  compiled (and, with --pcap, ran)
  1  the expression is invalid, the verifier refused the program, or the
     pcap file could not be read
  2  invalid option
)";

std::string join(const std::vector<std::string>& words) {
  std::string s;
  for (const auto& w : words) s += (s.empty() ? "" : " ") + w;
  return s;
}

int run_pcap(const std::string& path, const std::string& expr) {
  char err[PCAP_ERRBUF_SIZE];
  pcap_t* p = pcap_open_offline(path.c_str(), err);
  if (!p) {
    std::fprintf(stderr, "dropfilter: %s\n", err);
    return kExitError;
  }
  int dlt = pcap_datalink(p);
  dw::filter::LowerOptions lo;
  if (dlt == DLT_EN10MB) {
    lo.link = dw::filter::LinkType::Ethernet;
  } else if (dlt == DLT_RAW) {
    lo.link = dw::filter::LinkType::RawIp;
  } else {
    std::fprintf(stderr, "dropfilter: %s: link type %s is not supported (Ethernet or raw IP)\n",
                 path.c_str(), pcap_datalink_val_to_name(dlt) ? pcap_datalink_val_to_name(dlt) : "?");
    pcap_close(p);
    return kExitError;
  }
  auto fe = dw::filter::compile_front(expr, lo);
  if (!fe) {
    std::fputs(fe.error().render(expr).c_str(), stderr);
    pcap_close(p);
    return kExitError;
  }
  auto h = dw::FilterHarness::load(fe->dag);
  if (!h) {
    std::fprintf(stderr, "dropfilter: %s\n", h.error().message.c_str());
    pcap_close(p);
    return kExitError;
  }
  pcap_pkthdr* hdr;
  const u_char* data;
  uint64_t n = 0;
  int rc;
  std::string out;
  while ((rc = pcap_next_ex(p, &hdr, &data)) == 1) {
    n++;
    auto v = (*h)->run(std::span<const uint8_t>(data, hdr->caplen), hdr->len);
    if (!v) {
      std::fprintf(stderr, "dropfilter: frame %llu: %s\n", (unsigned long long)n, v.error().message.c_str());
      pcap_close(p);
      return kExitError;
    }
    if (*v) out += std::to_string(n) + "\n";
  }
  if (rc == -1) {
    std::fprintf(stderr, "dropfilter: %s: %s\n", path.c_str(), pcap_geterr(p));
    pcap_close(p);
    std::fputs(out.c_str(), stdout);
    return kExitError;
  }
  pcap_close(p);
  std::fputs(out.c_str(), stdout);
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app(kDescription, "dropfilter");
  dw::cli::install_formatter(app, "[OPTIONS] EXPRESSION...");
  app.footer(kFooter);
  std::vector<std::string> words;
  std::string link = "ether", pcap_path;
  bool dump_ast = false, dump_ir = false, dump_dag = false, dump_llvm = false, dump_bpf = false;

  app.add_option("expression", words, "The filter, as one argument or several words")
      ->required()
      ->group("Expression");
  app.add_option("-l,--link-type", link,
                 "Link layer the packets start with: ether (Ethernet, as on a NIC) or raw "
                 "(an IP header first). With --pcap, taken from the file. Default: ether")
      ->type_name("TYPE")
      ->check(CLI::IsMember({"ether", "raw"}))
      ->group("Compilation");
  app.add_flag("--dump-ast", dump_ast, "Print the syntax tree, qualifiers resolved")->group("Stages");
  app.add_flag("--dump-ir", dump_ir, "Print the IR after constant folding")->group("Stages");
  app.add_flag("--dump-dag", dump_dag, "Print the decision DAG after libpcap's jump threading")
      ->group("Stages");
  app.add_flag("--dump-llvm", dump_llvm, "Print the LLVM IR after optimization")->group("Stages");
  app.add_flag("--dump-bpf", dump_bpf, "Print the eBPF instructions, numbered, with the count")
      ->group("Stages");
  app.add_option("--pcap", pcap_path,
                 "Run the filter in the kernel on every frame of FILE (Ethernet or raw IP) and "
                 "print the 1-based numbers of the frames it accepts")
      ->type_name("FILE")
      ->group("Running");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "dropfilter: %s\nRun 'dropfilter --help' for the options.\n", e.what());
    return kExitUsage;
  }
  std::string expr = join(words);
  if (!pcap_path.empty()) return run_pcap(pcap_path, expr);

  dw::filter::LowerOptions lo;
  lo.link = link == "raw" ? dw::filter::LinkType::RawIp : dw::filter::LinkType::Ethernet;
  auto fe = dw::filter::compile_front(expr, lo);
  if (!fe) {
    std::fputs(fe.error().render(expr).c_str(), stderr);
    return kExitError;
  }
  if (dump_ast) std::printf("%s\n", fe->ast ? dw::filter::dump(*fe->ast).c_str() : "(empty: every packet)");
  if (dump_ir) std::fputs(dw::filter::ir::print(fe->ir).c_str(), stdout);
  if (dump_dag) std::fputs(dw::filter::print(fe->dag).c_str(), stdout);
  std::string llvm_ir;
  dw::filter::ObjectOptions oo;
  oo.llvm_ir = &llvm_ir;
  auto obj = dw::filter::compile_filters({{"dw_filter", &fe->dag}}, oo);
  if (!obj) {
    std::fprintf(stderr, "dropfilter: %s\n", obj.error().message.c_str());
    return kExitError;
  }
  if (dump_llvm) std::fputs(llvm_ir.c_str(), stdout);
  size_t count = 0;
  std::string listing = dw::filter::disassemble(*obj, "dw_filter", &count);
  if (dump_bpf) std::printf("%s(%zu instructions)\n", listing.c_str(), count);
  if (!dump_ast && !dump_ir && !dump_dag && !dump_llvm && !dump_bpf)
    std::printf("dropfilter: compiled, %zu eBPF instructions\n", count);
  return kExitOk;
}
