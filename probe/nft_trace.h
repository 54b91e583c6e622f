// --nft-trace: the nftables rule behind a NETFILTER_DROP, from the kernel's
// own rule tracing over netlink (no kprobes). dropwatch adds a table of its
// own whose chains, first at the prerouting and output hooks, set
// `meta nftrace` on every packet; the kernel then reports each rule a
// packet meets to the NFNLGRP_NFTRACE group, with its headers. The traces
// whose verdict is drop wait here until a NETFILTER_DROP event with the
// same headers claims one.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <tuple>
#include <vector>

#include "common/result.h"

namespace dw::probe {

// The rule that dropped a packet.
struct NftRule {
  std::string family, table, chain;
  uint64_t handle = 0;  // 0: the chain's policy dropped it
  std::string rule;     // as `nft -a list ruleset` prints it, without "# handle N"
  std::string verdict = "drop";
  bool ambiguous = false;  // another trace had the same headers
  bool operator==(const NftRule&) const = default;
};

class NftTracer {
 public:
  // In the namespace at `netns_path` ("" for dropwatch's own): removes the
  // tables of earlier runs that were killed (saying so in *notes), adds
  // this run's, and joins the trace group. Fails before changing anything
  // when nftables cannot be used there.
  static Result<std::unique_ptr<NftTracer>> start(const std::string& netns_path,
                                                  std::vector<std::string>* notes);
  ~NftTracer();  // removes the table
  NftTracer(const NftTracer&) = delete;
  NftTracer& operator=(const NftTracer&) = delete;

  int fd() const { return fd_; }
  // Reads every waiting trace, keeping those of a drop.
  void drain();
  // The drop trace whose headers are those of the packet starting at
  // `net` (its network header), taken from the waiting ones.
  std::optional<NftRule> claim(std::span<const uint8_t> net);
  // Removes the table now; the destructor does it otherwise.
  Status remove();
  uint64_t lost() const { return lost_; }  // traces the socket could not hold
  const std::string& table() const { return table_; }

  // The table name of the run with this pid.
  static std::string table_name(int pid);

 private:
  struct Trace {
    NftRule rule;
    std::vector<uint8_t> network, transport;
    uint64_t read_ns;  // CLOCK_MONOTONIC, for expiry
  };
  NftTracer() = default;
  void parse(std::span<const uint8_t> msg);
  std::string rule_text(const std::string& family, const std::string& table,
                        const std::string& chain, uint64_t handle);

  std::string netns_, table_;
  int fd_ = -1;
  bool removed_ = true;  // until the table is added
  uint64_t lost_ = 0;
  std::deque<Trace> waiting_;
  // The headers of each packet being traced, by trace id (pseudo-random:
  // bounded by dropping the lowest ids first).
  std::map<uint32_t, std::pair<std::vector<uint8_t>, std::vector<uint8_t>>> headers_;
  // (family, table, chain) -> handle -> rule text, listed when first needed.
  std::map<std::tuple<std::string, std::string, std::string>, std::map<uint64_t, std::string>>
      rules_;
};

// Runs `nft` commands (libnftables) in the namespace at `netns_path` ("":
// this one); the output, or the error nft printed.
Result<std::string> nft_run(const std::string& netns_path, const std::string& commands,
                            bool handles = false);

}  // namespace dw::probe
