// The filter IR: a boolean tree over 32-bit values, with cBPF's semantics
// made explicit so that every backend (the LLVM one, the reference
// interpreter) agrees with libpcap:
//   - Pred nodes are evaluated left to right with short-circuit;
//   - a Load past the captured bytes rejects the whole packet (returns 0),
//     wherever it sits, also under a Not;
//   - arithmetic is unsigned 32-bit; division or modulo by zero at run time
//     rejects the packet; a shift by 32 or more gives 0;
//   - comparisons are unsigned.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "compiler/ast.h"
#include "compiler/diagnostic.h"

namespace dw::filter::ir {

struct Value;
using ValuePtr = std::shared_ptr<const Value>;

struct Value {
  enum class Kind : uint8_t {
    Const,
    Load,
    Binary,
    Neg,
    Len,
    SelectEq,    // a == b ? c : d
    ProtoChain,  // the protocol a `protochain` walk ends on (see below)
  } kind;
  uint32_t k = 0;    // Const; Load: constant part of the offset; ProtoChain: network header offset
  uint8_t size = 0;  // Load: 1, 2 or 4 bytes, big-endian
  ArithOp op = ArithOp::Add;  // Binary
  ValuePtr a, b, c, d;        // Binary; Load: variable part of the offset (may be null); Neg: a
  uint32_t target = 0;        // ProtoChain: the protocol looked for
  bool ip6 = false;           // ProtoChain: start from an IPv6 header
  // Arithmetic written by the user (relations, accessor indexes). libpcap
  // computes it with ALU instructions, which its optimizer folds only in its
  // second phase, after jump threading: a test such constants decide keeps
  // its place instead of vanishing (see simplify.h).
  bool late = false;
  // An error libpcap's optimizer raises when it folds this node, which it
  // does only if the node survives jump threading (division by a constant
  // 0, shift by a constant over 31).
  std::shared_ptr<const Diagnostic> deferred;
};

// libpcap's protochain loop (gen_protochain): starting at the IPv4 or IPv6
// header at packet offset `net`, follow next-header fields through IPv6
// extension headers (hop-by-hop, destination, routing, fragment) and AH
// until the protocol is `target`, IPPROTO_NONE, or anything else; the value
// is that last protocol. Loads past the capture reject, as everywhere.
// libpcap loops without bound; we stop after kProtoChainSteps headers.
constexpr int kProtoChainSteps = 16;
// A target no header has: the walk ends where any target that is neither an
// IPv6 extension header nor AH would end it, so `protochain 6`, `17`, ...
// share one walk and compare its end (compiler/lower.cpp).
constexpr uint32_t kProtoChainAny = 256;
ValuePtr protochain(bool ip6, uint32_t net, uint32_t target);
ValuePtr select_eq(ValuePtr a, ValuePtr b, ValuePtr then, ValuePtr otherwise);

ValuePtr konst(uint32_t v);
// Loads `size` bytes at packet offset base + k (base may be null). The sum is
// not truncated to 32 bits: a base near 2^32 is out of bounds, as in cBPF.
ValuePtr load(ValuePtr base, uint32_t k, uint8_t size);
ValuePtr binary(ArithOp op, ValuePtr a, ValuePtr b, bool late = false);
ValuePtr neg(ValuePtr a, bool late = false);
ValuePtr late_konst(uint32_t v);
ValuePtr wire_len();

enum class CmpOp : uint8_t { Eq, Gt, Ge, Set };  // Set: (a & b) != 0

struct Pred;
using PredPtr = std::shared_ptr<const Pred>;

struct Pred {
  enum class Kind : uint8_t { True, False, Cmp, And, Or, Not } kind;
  CmpOp op = CmpOp::Eq;
  ValuePtr a, b;  // Cmp
  PredPtr l, r;   // And/Or; Not: l
};

PredPtr truth(bool v);
PredPtr cmp(CmpOp op, ValuePtr a, ValuePtr b);
PredPtr cmp(CmpOp op, ValuePtr a, uint32_t k);
PredPtr all(PredPtr l, PredPtr r);  // l and r (l first)
PredPtr any(PredPtr l, PredPtr r);  // l or r (l first)
PredPtr negate(PredPtr p);

// One line per node, indented: the --dump-ir format. A large value that
// several places share (the offsets after geneve refer to the ones before)
// is printed once, as `vN = ...`, and named where it is used.
std::string print(const PredPtr& p);
// A value inline, for messages and the DAG printer.
std::string print(const ValuePtr& v);
// Values shared by the given roots that print() would print once, each
// with its name; `names` then maps them to it. Returns the definitions.
std::string name_shared(const std::vector<const Value*>& roots,
                        std::unordered_map<const Value*, std::string>& names);
std::string print(const ValuePtr& v, const std::unordered_map<const Value*, std::string>& names);

// Structural identity of values, ignoring `late` and `deferred` (as print()
// does): two values get the same id exactly when they compute the same
// thing the same way. Values are shared graphs, so ids are computed once
// per node and comparing two values costs nothing afterwards, however
// large they are. One table per optimizer run.
class ValueIds {
 public:
  uint32_t id(const ValuePtr& v) { return id(v.get()); }
  uint32_t id(const Value* v);

 private:
  using Key = std::tuple<Value::Kind, uint32_t, uint8_t, ArithOp, uint32_t, bool, uint32_t,
                         uint32_t, uint32_t, uint32_t>;
  std::map<Key, uint32_t> table_;
  std::unordered_map<const Value*, uint32_t> memo_;
};

// Comparisons in the predicate, each shared one counted once: a lower
// bound of the decision DAG's tests, known before anything is built.
size_t test_count(const PredPtr& p);

}  // namespace dw::filter::ir
