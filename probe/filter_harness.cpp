#include "probe/filter_harness.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "compiler/codegen.h"
#include "filter_abi.h"

extern const unsigned char dw_bc_filter_harness[];
extern const unsigned long dw_bc_filter_harness_size;

namespace dw {

Result<std::unique_ptr<FilterHarness>> FilterHarness::load(const filter::Dag& dag) {
  return load(filter::FilterDef{"dw_filter", &dag});
}

Result<std::unique_ptr<FilterHarness>> FilterHarness::load(filter::FilterDef def, bool optimize) {
  def.name = "dw_filter";
  std::vector<filter::FilterDef> defs = {def};
  filter::ObjectOptions o;
  o.optimize_filters = optimize;
  o.capacity = DW_HARNESS_CAPACITY;
  auto elf = filter::link_program(
      std::span<const uint8_t>(dw_bc_filter_harness, dw_bc_filter_harness_size), defs, o);
  if (!elf) return fail(elf.error().message);
  std::unique_ptr<FilterHarness> h(new FilterHarness());
  LIBBPF_OPTS(bpf_object_open_opts, oo, .object_name = "dw_harness");
  h->obj_ = bpf_object__open_mem(elf->data(), elf->size(), &oo);
  if (!h->obj_) return fail(std::string("cannot open the harness object: ") + std::strerror(errno));
  bpf_program* prog = bpf_object__find_program_by_name(h->obj_, "dw_harness");
  if (!prog) return fail("harness program missing from the object");
  std::vector<char> log(1 << 20);
  bpf_program__set_log_buf(prog, log.data(), log.size());
  bpf_program__set_log_level(prog, 1);
  if (int err = bpf_object__load(h->obj_)) {
    std::string msg(log.data());
    if (msg.size() > 4000) msg = msg.substr(msg.size() - 4000);
    return fail("the verifier rejected the filter (" + std::string(std::strerror(-err)) + "):\n" +
                msg, -err);
  }
  h->prog_fd_ = bpf_program__fd(prog);
  h->x32_fd_ = bpf_program__fd(bpf_object__find_program_by_name(h->obj_, "dw_harness_x32"));
  h->map_fd_ = bpf_object__find_map_fd_by_name(h->obj_, "packet");
  bpf_prog_info info{};
  uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(h->prog_fd_, &info, &len) == 0) h->insns_ = info.xlated_prog_len / 8;
  return h;
}

FilterHarness::~FilterHarness() {
  if (obj_) bpf_object__close(obj_);
}

Result<double> FilterHarness::ns_per_call(std::span<const uint8_t> pkt, uint32_t wire_len,
                                          uint32_t repeat) {
  auto ok = run(pkt, wire_len);  // writes the packet map
  if (!ok) return std::unexpected(ok.error());
  uint8_t frame[64] = {};
  LIBBPF_OPTS(bpf_test_run_opts, t, .data_in = frame, .data_size_in = sizeof(frame),
              .repeat = int(repeat));
  if (bpf_prog_test_run_opts(x32_fd_, &t))
    return fail(std::string("BPF_PROG_TEST_RUN failed: ") + std::strerror(errno));
  return double(t.duration) / 32;
}

Result<bool> FilterHarness::run(std::span<const uint8_t> pkt, uint32_t wire_len, uint32_t repeat,
                                uint64_t* ns_per_run) {
  static thread_local std::vector<uint8_t> buf(sizeof(dw_harness_pkt));
  auto* p = reinterpret_cast<dw_harness_pkt*>(buf.data());
  size_t n = std::min<size_t>(pkt.size(), DW_HARNESS_CAPACITY);
  p->caplen = uint32_t(n);
  p->wirelen = wire_len;
  std::memcpy(p->data, pkt.data(), n);
  uint32_t key = 0;
  if (bpf_map_update_elem(map_fd_, &key, p, BPF_ANY))
    return fail(std::string("cannot write the packet map: ") + std::strerror(errno));
  uint8_t frame[64] = {};  // test_run wants an Ethernet-sized frame of its own
  LIBBPF_OPTS(bpf_test_run_opts, t, .data_in = frame, .data_size_in = sizeof(frame),
              .repeat = int(repeat));
  if (bpf_prog_test_run_opts(prog_fd_, &t))
    return fail(std::string("BPF_PROG_TEST_RUN failed: ") + std::strerror(errno));
  if (ns_per_run) *ns_per_run = t.duration;
  return t.retval != 0;
}

}  // namespace dw
