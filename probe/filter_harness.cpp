#include "probe/filter_harness.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <cstring>
#include <vector>

#include "bpf/filter_abi.h"
#include "probe/filter_linkage.h"

namespace dw::probe {
namespace {

// Sets a `const volatile __u32` before load, found by name in the object's
// BTF (no skeleton for an object linked at run time).
Status set_rodata_u32(bpf_object* obj, bpf_map* rodata, const char* name, uint32_t value) {
  const btf* b = bpf_object__btf(obj);
  size_t size = 0;
  auto* init = static_cast<const uint8_t*>(bpf_map__initial_value(rodata, &size));
  int sec = b ? btf__find_by_name_kind(b, ".rodata", BTF_KIND_DATASEC) : -1;
  if (!init || sec < 0) return fail("the harness object has no .rodata");
  std::vector<uint8_t> data(init, init + size);
  const btf_type* t = btf__type_by_id(b, sec);
  const btf_var_secinfo* v = btf_var_secinfos(t);
  for (unsigned i = 0; i < btf_vlen(t); i++, v++) {
    const char* n = btf__name_by_offset(b, btf__type_by_id(b, v->type)->name_off);
    if (n && std::strcmp(n, name) == 0 && v->offset + sizeof(value) <= size) {
      std::memcpy(data.data() + v->offset, &value, sizeof(value));
      if (bpf_map__set_initial_value(rodata, data.data(), data.size()))
        return fail(std::string("cannot set ") + name);
      return {};
    }
  }
  return fail(std::string("the harness object has no ") + name);
}

}  // namespace

Result<std::unique_ptr<FilterHarness>> FilterHarness::load(std::span<const uint8_t> elf,
                                                           uint32_t capacity, Mode mode) {
  std::unique_ptr<FilterHarness> h(new FilterHarness());
  h->capacity_ = capacity;
  LIBBPF_OPTS(bpf_object_open_opts, oo, .object_name = "dw_harness");
  h->obj_ = bpf_object__open_mem(elf.data(), elf.size(), &oo);
  if (!h->obj_) return fail_errno("cannot open the harness object");
  bpf_program* prog = bpf_object__find_program_by_name(
      h->obj_, mode == Mode::InPlace ? "dw_harness_in_place" : "dw_harness");
  bpf_map* map = bpf_object__find_map_by_name(h->obj_, "packet");
  bpf_map* rodata = bpf_object__find_map_by_name(h->obj_, ".rodata");
  if (!prog || !map || !rodata) return fail("the harness object lacks its program or maps");
  if (bpf_map__set_value_size(map, DW_HARNESS_VALUE_SIZE(capacity)))
    return fail("cannot size the harness map for " + std::to_string(capacity) + " bytes");
  if (auto ok = set_rodata_u32(h->obj_, rodata, "cfg_capacity", capacity); !ok)
    return std::unexpected(ok.error());
  bpf_program* x32 = bpf_object__find_program_by_name(h->obj_, "dw_harness_x32");
  for (bpf_program* p = bpf_object__next_program(h->obj_, nullptr); p;
       p = bpf_object__next_program(h->obj_, p))
    bpf_program__set_autoload(p, p == prog || p == x32);
  if (mode == Mode::InPlace || filters_must_be_static()) {
    make_filters_static(h->obj_);
    // Verified in each of its 32 calls, the filter of the benchmark's
    // program exceeds the verifier's budget; that program is bench/'s only.
    if (x32) bpf_program__set_autoload(x32, false);
  }
  std::vector<char> log(1 << 20);
  bpf_program__set_log_buf(prog, log.data(), log.size());
  bpf_program__set_log_level(prog, 1);
  // The verifier's log goes into the error returned; libbpf's own lines on
  // stderr would say the same again (bench/'s protochain baseline, which
  // never verifies, printed them on every run).
  auto print = libbpf_set_print(nullptr);
  int err = bpf_object__load(h->obj_);
  libbpf_set_print(print);
  if (err) {
    std::string msg(log.data());
    if (msg.size() > 4000) msg = msg.substr(msg.size() - 4000);
    return fail(
        "the verifier rejected the filter (" + std::string(std::strerror(-err)) + "):\n" + msg,
        -err);
  }
  h->prog_fd_ = bpf_program__fd(prog);
  h->x32_fd_ = x32 ? bpf_program__fd(x32) : -1;
  // (-1 when not loaded: ns_per_call() then fails)
  h->map_fd_ = bpf_map__fd(map);
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
  if (bpf_prog_test_run_opts(x32_fd_, &t)) return fail_errno("BPF_PROG_TEST_RUN failed");
  return double(t.duration) / 32;
}

Result<bool> FilterHarness::run(std::span<const uint8_t> pkt, uint32_t wire_len, uint32_t repeat,
                                uint64_t* ns_per_run) {
  std::vector<uint8_t>& buf = buf_;
  buf.assign(DW_HARNESS_VALUE_SIZE(capacity_), 0);
  size_t n = std::min<size_t>(pkt.size(), capacity_);
  uint32_t head[2] = {uint32_t(n), wire_len};
  std::memcpy(buf.data(), head, sizeof(head));
  std::memcpy(buf.data() + sizeof(head), pkt.data(), n);
  uint32_t key = 0;
  if (bpf_map_update_elem(map_fd_, &key, buf.data(), BPF_ANY))
    return fail_errno("cannot write the packet map");
  uint8_t frame[64] = {};  // test_run wants an Ethernet-sized frame of its own
  LIBBPF_OPTS(bpf_test_run_opts, t, .data_in = frame, .data_size_in = sizeof(frame),
              .repeat = int(repeat));
  if (bpf_prog_test_run_opts(prog_fd_, &t)) return fail_errno("BPF_PROG_TEST_RUN failed");
  if (ns_per_run) *ns_per_run = t.duration;
  return t.retval != 0;
}

}  // namespace dw::probe
