// The parsed expression. Qualifier inheritance is already explicit: every
// Id node carries the qualifiers libpcap would apply to it
// (`tcp port 80 or 443` has two Id nodes, both `tcp port`).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "compiler/diagnostic.h"
#include "compiler/lexer.h"

namespace dw::filter {

enum class Dir : uint8_t { Default, Src, Dst, Or, And, Addr1, Addr2, Addr3, Addr4, Ra, Ta };
enum class Addr : uint8_t { Default, Host, Net, Port, Portrange, Gateway, Proto, Protochain };

// libpcap's `struct qual`; `undef` is its qerr (after a relation or a bare
// protocol name, a following id has nothing to inherit).
struct Qual {
  Proto proto = Proto::Default;
  Dir dir = Dir::Default;
  Addr addr = Addr::Default;
  bool undef = false;
};

enum class ArithOp : uint8_t { Add, Sub, Mul, Div, Mod, And, Or, Xor, Lsh, Rsh };
const char* arith_op_text(ArithOp op);

struct Arith {
  enum class Kind : uint8_t { Num, Load, Binary, Neg, Len } kind;
  SourceRange range;
  uint32_t num = 0;                 // Num
  Proto proto = Proto::Default;     // Load: proto[index : size]
  uint32_t size = 1;                // Load
  SourceRange size_range;           // Load: where ':size' was written
  ArithOp op = ArithOp::Add;        // Binary
  std::unique_ptr<Arith> lhs, rhs;  // Binary (both), Load index and Neg (lhs)
  uint32_t depth = 1;               // of the tree below, this node included
};

enum class RelOp : uint8_t { Gt, Ge, Eq };  // plus `reversed` for <=, <, !=

enum class IdKind : uint8_t { Num, Hid, HidMask, HidLen, Hid6, Hid6Len, Eid, Aid, Name };

struct Node {
  enum class Kind : uint8_t {
    And,
    Or,
    Not,
    Id,        // head id, or an id inheriting qualifiers
    Pname,     // a protocol name alone: `tcp`
    Relation,  // arth relop arth
    Broadcast,
    Multicast,  // [pqual] broadcast|multicast
    Less,
    Greater,  // less N, greater N
    Byte,     // byte N op N
    Vlan,
    Mpls,
    Pppoed,
    Pppoes,
    Geneve,  // optional number
    Llc,     // llc [subtype]
    Inbound,
    Outbound,
    Ifindex,      // Linux packet metadata
    Unsupported,  // parsed, always refused for our link types
  } kind;
  SourceRange range;
  std::unique_ptr<Node> lhs, rhs;  // And/Or (both), Not (lhs)
  // Id
  Qual qual;
  IdKind id_kind = IdKind::Num;
  std::string text, text2;  // address text; mask text for HidMask
  uint32_t num = 0;         // Num id, prefix length, Less/Greater/Vlan/... number
  bool has_num = false;     // Vlan/Mpls/Pppoes/Geneve with a number
  // Pname, Broadcast, Multicast
  Proto proto = Proto::Default;
  // Relation
  RelOp rel = RelOp::Eq;
  bool reversed = false;
  std::unique_ptr<Arith> a, b;
  // Byte
  char byte_op = '=';
  uint32_t byte_index = 0;
  // Unsupported: libpcap's message
  std::string message;
  uint32_t depth = 1;  // of the tree below, this node included (arithmetic too)
};

// The deepest tree, and the deepest nesting of the text, the parser builds:
// every pass recurses along the tree, and a hostile expression must not
// overflow the stack (libpcap's parser gives up at 10000 states with
// "memory exhausted"). Chains of `and` or of `or` do not count: they are
// built balanced, so `host a or host b or ...` may be as long as wanted.
inline constexpr uint32_t kMaxDepth = 500;

// S-expression rendering for --dump-ast.
std::string dump(const Node& n);
std::string dump(const Arith& a);

}  // namespace dw::filter
