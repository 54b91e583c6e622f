// The filter as a decision DAG: each test branches to a true and a false
// successor, leaves accept or reject. This is the shape the code generator
// emits, and the shape on which libpcap's optimizer works, so its jump
// threading is reproduced here: along a path, a test already decided by an
// earlier test of the same value is skipped, and a test whose branches meet
// is removed with its loads. What libpcap can prove, we prove; a filter that
// then rejects everything is an error, as in libpcap.
#pragma once

#include <string>
#include <vector>

#include "compiler/diagnostic.h"
#include "compiler/ir.h"

namespace dw::filter {

struct Dag {
  static constexpr int kReject = 0;
  static constexpr int kAccept = 1;
  struct Node {
    ir::CmpOp op = ir::CmpOp::Eq;
    ir::ValuePtr a, b;
    int t = 0, f = 0;  // successors
  };
  std::vector<Node> nodes;  // [0] reject and [1] accept are leaves
  int root = kAccept;
  // Values computed before the root test only for their loads, which still
  // reject a packet too short for them (what libpcap's opt_root keeps).
  std::vector<ir::ValuePtr> prelude;

  bool leaf(int n) const { return n <= kAccept; }
  size_t tests() const { return nodes.size() - 2; }
};

Dag build_dag(const ir::PredPtr& p);
// Tests the optimizer takes on: its time grows faster than the size, as
// libpcap's does (1,000 `host` terms, 7,000 tests, take libpcap 107 s).
// Larger filters are "too complex", so that a compile ends in seconds.
constexpr size_t kMaxTests = 4000;
// libpcap's jump threading and branch merging, then its or/and pullups, to
// a fixed point. `first` is the test libpcap evaluates first (its root
// block): when optimization removes it, its loads stay in front of the new
// root (opt_root).
Dag optimize_dag(const Dag& d, const ir::PredPtr& first = nullptr);
// The test evaluated first: the leftmost leaf, or null for a constant.
ir::PredPtr first_test(const ir::PredPtr& p);
std::string print(const Dag& d);

}  // namespace dw::filter
