#include "compiler/parser.h"

#include <algorithm>
#include <vector>

#include "compiler/lexer.h"

namespace dw::filter {
namespace {

using NodePtr = std::unique_ptr<Node>;
using ArithPtr = std::unique_ptr<Arith>;

const Qual kQualErr{Proto::Default, Dir::Default, Addr::Default, true};

class Parser {
 public:
  explicit Parser(std::vector<Token> toks) : t_(std::move(toks)) {}

  /// prog ::= [ expr ] END
  Expected<NodePtr> prog() {
    if (peek().kind == Tok::End) return NodePtr();
    Qual q = kQualErr;
    auto e = expr(q);
    if (!e) return e;
    if (peek().kind != Tok::End) return syntax_error();
    return e;
  }

 private:
  const Token& peek(size_t ahead = 0) const {
    size_t i = std::min(pos_ + ahead, t_.size() - 1);
    return t_[i];
  }
  const Token& next() { return t_[std::min(pos_++, t_.size() - 1)]; }
  bool accept(Tok k) {
    if (peek().kind != k) return false;
    pos_++;
    return true;
  }
  std::unexpected<Diagnostic> syntax_error() const {
    const Token& t = peek();
    if (t.kind == Tok::End) return error(t.range, "syntax error: unexpected end of expression");
    return error(t.range, "syntax error");
  }
  std::unexpected<Diagnostic> expect_error(const char* what) const {
    return error(peek().range, std::string("syntax error: expected ") + what);
  }
  static NodePtr make(Node::Kind k, SourceRange r) {
    auto n = std::make_unique<Node>();
    n->kind = k;
    n->range = r;
    return n;
  }
  SourceRange from(uint32_t begin) const { return {begin, t_[pos_ ? pos_ - 1 : 0].range.end}; }

  /// expr ::= term { ( "and" | "or" ) ( term | id ) }
  /// `q` is the qualifier an id after and/or inherits: the last term's.
  Expected<NodePtr> expr(Qual& q) {
    std::vector<NodePtr> terms;
    std::vector<Node::Kind> ops;
    auto lhs = term(q);
    if (!lhs) return lhs;
    terms.push_back(std::move(*lhs));
    while (peek().kind == Tok::And || peek().kind == Tok::Or) {
      ops.push_back(next().kind == Tok::And ? Node::Kind::And : Node::Kind::Or);
      auto rhs = term_or_id(q);
      if (!rhs) return rhs;
      terms.push_back(std::move(*rhs));
    }
    return chain(std::move(terms), ops);
  }

  // and/or have one precedence and group to the left: `a or b and c` is
  // `(a or b) and c`. A run of one operator is built as a balanced tree,
  // which evaluates the same way (both are associative and short-circuit
  // left to right, as libpcap's gen_and/gen_or do) and keeps long lists of
  // hosts or ports shallow for every recursive pass.
  Expected<NodePtr> chain(std::vector<NodePtr> terms, const std::vector<Node::Kind>& ops) {
    std::vector<NodePtr> run;
    run.push_back(std::move(terms[0]));
    for (size_t k = 0; k < ops.size(); k++) {
      if (k > 0 && ops[k] != ops[k - 1]) {
        NodePtr group = balanced(ops[k - 1], run, 0, run.size());
        run.clear();
        run.push_back(std::move(group));
      }
      run.push_back(std::move(terms[k + 1]));
    }
    NodePtr root = ops.empty() ? std::move(run[0]) : balanced(ops.back(), run, 0, run.size());
    if (root->depth > kMaxDepth) return too_deep(root->range);
    return root;
  }

  static NodePtr balanced(Node::Kind k, std::vector<NodePtr>& v, size_t from, size_t to) {
    if (to - from == 1) return std::move(v[from]);
    size_t mid = from + (to - from) / 2;
    NodePtr l = balanced(k, v, from, mid);
    NodePtr r = balanced(k, v, mid, to);
    NodePtr n = make(k, {l->range.begin, r->range.end});
    n->depth = std::max(l->depth, r->depth) + 1;
    n->lhs = std::move(l);
    n->rhs = std::move(r);
    return n;
  }

  static std::unexpected<Diagnostic> too_deep(SourceRange r) {
    return error(
        r, "expression nested too deeply (more than " + std::to_string(kMaxDepth) + " levels)");
  }

  // Counts the nesting of the productions that recurse (term, id, arth):
  // the stack a hostile expression could exhaust.
  struct Nesting {
    Parser& p;
    explicit Nesting(Parser& parser) : p(parser) { p.nesting_++; }
    ~Nesting() { p.nesting_--; }
    bool too_deep() const { return p.nesting_ > kMaxDepth; }
  };

  // After and/or: an id (inheriting q) when one parses and ends the
  // operand; otherwise a term. Bison decides the same with its lookahead.
  Expected<NodePtr> term_or_id(Qual& q) {
    size_t save = pos_;
    auto as_id = id(q);
    if (as_id) {
      Tok k = peek().kind;
      if (k == Tok::And || k == Tok::Or || k == Tok::RParen || k == Tok::End) return as_id;
    }
    pos_ = save;
    auto as_term = term(q);
    // Neither parses: report whichever got further into the input.
    if (!as_term && !as_id && as_id.error().range.begin > as_term.error().range.begin) return as_id;
    return as_term;
  }

  /// term ::= "not" term | rterm
  Expected<NodePtr> term(Qual& q) {
    Nesting nest(*this);
    if (nest.too_deep()) return too_deep(peek().range);
    uint32_t begin = peek().range.begin;
    if (accept(Tok::Not)) {
      auto t = term(q);
      if (!t) return t;
      NodePtr n = make(Node::Kind::Not, from(begin));
      n->depth = (*t)->depth + 1;
      n->lhs = std::move(*t);
      return n;
    }
    return rterm(q);
  }

  /// rterm ::= head id | "(" expr ")" | pname | arth relop arth | other
  Expected<NodePtr> rterm(Qual& q) {
    const Token& t = peek();
    uint32_t begin = t.range.begin;
    switch (t.kind) {
      case Tok::LParen: {
        // "(" may open an arithmetic operand of a relation: try that first.
        size_t save = pos_;
        if (auto rel = relation(); rel) {
          q = kQualErr;
          return rel;
        }
        pos_ = save;
        next();
        Qual inner = q;  // the parenthesis passes on what came before it
        auto e = expr(inner);
        if (!e) return e;
        if (!accept(Tok::RParen)) return expect_error("')'");
        return e;  // q: the parenthesis' own, unchanged
      }
      case Tok::Pname: {
        Tok after = peek(1).kind;
        if (after == Tok::LBracket) {
          q = kQualErr;
          return relation();
        }
        if (after == Tok::Broadcast || after == Tok::Multicast) {
          next();
          q = kQualErr;
          return cast_other(t.proto, begin);
        }
        if (starts_head(after)) return head_id(q);
        if (after == Tok::Type || after == Tok::Subtype || after == Tok::DirKw)
          return error(t.range, "802.11 link-layer types supported only on 802.11");
        next();
        NodePtr n = make(Node::Kind::Pname, t.range);
        n->proto = t.proto;
        q = kQualErr;
        return n;
      }
      case Tok::Num:
      case Tok::Minus:
      case Tok::Len: q = kQualErr; return relation();
      case Tok::Broadcast:
      case Tok::Multicast: q = kQualErr; return cast_other(Proto::Default, begin);
      default: break;
    }
    if (starts_head(t.kind)) return head_id(q);
    q = kQualErr;
    return other();
  }

  static bool starts_head(Tok k) {
    switch (k) {
      case Tok::Src:
      case Tok::Dst:
      case Tok::Addr1:
      case Tok::Addr2:
      case Tok::Addr3:
      case Tok::Addr4:
      case Tok::Ra:
      case Tok::Ta:
      case Tok::Host:
      case Tok::Net:
      case Tok::Port:
      case Tok::Portrange:
      case Tok::ProtoKw:
      case Tok::Protochain:
      case Tok::Gateway: return true;
      default: return false;
    }
  }

  /// head ::= [pname] ( dqual [aqual] | aqual | "proto" | "protochain" | "gateway" )
  /// dqual ::= "src" | "dst" | "src or dst" | "dst or src" | "src and dst"
  ///         | "dst and src" | "addr1" .. "addr4" | "ra" | "ta"
  /// aqual ::= "host" | "net" | "port" | "portrange"
  Expected<NodePtr> head_id(Qual& q) {
    Qual h;
    if (peek().kind == Tok::Pname) h.proto = next().proto;
    Tok k = peek().kind;
    if (k == Tok::ProtoKw || k == Tok::Protochain || k == Tok::Gateway) {
      next();
      h.addr = k == Tok::ProtoKw      ? Addr::Proto
               : k == Tok::Protochain ? Addr::Protochain
                                      : Addr::Gateway;
    } else {
      if (k == Tok::Src || k == Tok::Dst) {
        next();
        Tok other = k == Tok::Src ? Tok::Dst : Tok::Src;
        h.dir = k == Tok::Src ? Dir::Src : Dir::Dst;
        if (peek().kind == Tok::Or || peek().kind == Tok::And) {
          bool is_or = next().kind == Tok::Or;
          if (!accept(other)) return syntax_error();
          h.dir = is_or ? Dir::Or : Dir::And;
        }
      } else if (k == Tok::Addr1 || k == Tok::Addr2 || k == Tok::Addr3 || k == Tok::Addr4 ||
                 k == Tok::Ra || k == Tok::Ta) {
        next();
        h.dir = k == Tok::Addr1   ? Dir::Addr1
                : k == Tok::Addr2 ? Dir::Addr2
                : k == Tok::Addr3 ? Dir::Addr3
                : k == Tok::Addr4 ? Dir::Addr4
                : k == Tok::Ra    ? Dir::Ra
                                  : Dir::Ta;
      }
      switch (peek().kind) {
        case Tok::Host:
          next();
          h.addr = Addr::Host;
          break;
        case Tok::Net:
          next();
          h.addr = Addr::Net;
          break;
        case Tok::Port:
          next();
          h.addr = Addr::Port;
          break;
        case Tok::Portrange:
          next();
          h.addr = Addr::Portrange;
          break;
        default:
          if (h.dir == Dir::Default) return syntax_error();
      }
    }
    q = h;
    return id(q);
  }

  /// id  ::= nid | pnum | "(" pid ")"
  /// nid ::= ID | HID "/" NUM | HID "mask" HID | HID | HID6 "/" NUM | HID6
  ///       | EID | AID | "not" id
  Expected<NodePtr> id(const Qual& q) {
    Nesting nest(*this);
    if (nest.too_deep()) return too_deep(peek().range);
    const Token& t = peek();
    uint32_t begin = t.range.begin;
    auto leaf = [&](IdKind kind) {
      NodePtr n = make(Node::Kind::Id, t.range);
      n->qual = q;
      n->id_kind = kind;
      n->text = t.text;
      n->num = t.num;
      return n;
    };
    switch (t.kind) {
      case Tok::Not: {
        next();
        auto inner = id(q);
        if (!inner) return inner;
        NodePtr n = make(Node::Kind::Not, from(begin));
        n->depth = (*inner)->depth + 1;
        n->lhs = std::move(*inner);
        return n;
      }
      case Tok::LParen: {
        next();
        auto p = pid(q);
        if (!p) return p;
        if (!accept(Tok::RParen)) return expect_error("')'");
        return p;
      }
      case Tok::Num: next(); return leaf(IdKind::Num);
      case Tok::Id: next(); return leaf(IdKind::Name);
      case Tok::Eid: next(); return leaf(IdKind::Eid);
      case Tok::Aid: next(); return leaf(IdKind::Aid);
      case Tok::Hid:
      case Tok::Hid6: {
        bool v6 = t.kind == Tok::Hid6;
        next();
        NodePtr n = leaf(v6 ? IdKind::Hid6 : IdKind::Hid);
        if (accept(Tok::Slash)) {
          if (peek().kind != Tok::Num) return expect_error("a prefix length");
          n->num = next().num;
          n->id_kind = v6 ? IdKind::Hid6Len : IdKind::HidLen;
        } else if (!v6 && accept(Tok::Mask)) {
          if (peek().kind != Tok::Hid) return expect_error("a netmask");
          n->text2 = next().text;
          n->id_kind = IdKind::HidMask;
        }
        n->range = from(begin);
        return n;
      }
      default: return syntax_error();
    }
  }

  /// pid ::= ( nid | pnum ) { ( "and" | "or" ) id }
  Expected<NodePtr> pid(const Qual& q) {
    std::vector<NodePtr> ids;
    std::vector<Node::Kind> ops;
    auto first = id(q);
    if (!first) return first;
    ids.push_back(std::move(*first));
    while (peek().kind == Tok::And || peek().kind == Tok::Or) {
      ops.push_back(next().kind == Tok::And ? Node::Kind::And : Node::Kind::Or);
      auto rhs = id(q);
      if (!rhs) return rhs;
      ids.push_back(std::move(*rhs));
    }
    return chain(std::move(ids), ops);
  }

  /// relation ::= arth ( ">" | ">=" | "=" | "==" | "<=" | "<" | "!=" ) arth
  Expected<NodePtr> relation() {
    uint32_t begin = peek().range.begin;
    auto a = arth(0);
    if (!a) return std::unexpected(a.error());
    RelOp op;
    bool rev = false;
    switch (peek().kind) {
      case Tok::Gt: op = RelOp::Gt; break;
      case Tok::Geq: op = RelOp::Ge; break;
      case Tok::Eq: op = RelOp::Eq; break;
      case Tok::Leq: op = RelOp::Gt, rev = true; break;
      case Tok::Lt: op = RelOp::Ge, rev = true; break;
      case Tok::Neq: op = RelOp::Eq, rev = true; break;
      default: return expect_error("a comparison (=, !=, <, <=, >, >=)");
    }
    next();
    auto b = arth(0);
    if (!b) return std::unexpected(b.error());
    NodePtr n = make(Node::Kind::Relation, from(begin));
    n->depth = std::max((*a)->depth, (*b)->depth) + 1;
    n->rel = op;
    n->reversed = rev;
    n->a = std::move(*a);
    n->b = std::move(*b);
    return n;
  }

  // Binding powers. libpcap's grammar gives '%' and '^' no precedence, so
  // bison shifts on them: they bind the operand just before them and all
  // of the arithmetic after them (`a + b % c + d` is `a + (b % (c + d))`).
  static int left_bp(Tok k) {
    switch (k) {
      case Tok::Pipe: return 10;
      case Tok::Amp: return 20;
      case Tok::Lsh:
      case Tok::Rsh: return 30;
      case Tok::Plus:
      case Tok::Minus: return 40;
      case Tok::Star:
      case Tok::Slash: return 50;
      case Tok::Percent:
      case Tok::Caret: return 100;
      default: return -1;
    }
  }
  static ArithOp arith_op(Tok k) {
    switch (k) {
      case Tok::Pipe: return ArithOp::Or;
      case Tok::Amp: return ArithOp::And;
      case Tok::Lsh: return ArithOp::Lsh;
      case Tok::Rsh: return ArithOp::Rsh;
      case Tok::Plus: return ArithOp::Add;
      case Tok::Minus: return ArithOp::Sub;
      case Tok::Star: return ArithOp::Mul;
      case Tok::Slash: return ArithOp::Div;
      case Tok::Percent: return ArithOp::Mod;
      default: return ArithOp::Xor;
    }
  }
  static constexpr int kUnaryMinusBp = 60;

  /// arth ::= pnum | arth binop arth | "-" arth | "(" arth ")" | "len"
  ///        | pname "[" arth [ ":" NUM ] "]"
  Expected<ArithPtr> arth(int min_bp) {
    Nesting nest(*this);
    if (nest.too_deep()) return too_deep(peek().range);
    uint32_t begin = peek().range.begin;
    auto lhs = arth_primary();
    if (!lhs) return lhs;
    ArithPtr node = std::move(*lhs);
    while (true) {
      Tok k = peek().kind;
      int lbp = left_bp(k);
      if (lbp < 0 || lbp <= min_bp) break;
      next();
      int rbp = (k == Tok::Percent || k == Tok::Caret) ? 0 : lbp;
      auto rhs = arth(rbp);
      if (!rhs) return rhs;
      auto n = std::make_unique<Arith>();
      n->kind = Arith::Kind::Binary;
      n->op = arith_op(k);
      n->depth = std::max(node->depth, (*rhs)->depth) + 1;
      n->lhs = std::move(node);
      n->rhs = std::move(*rhs);
      n->range = from(begin);
      if (n->depth > kMaxDepth) return too_deep(n->range);
      node = std::move(n);
    }
    return node;
  }

  Expected<ArithPtr> arth_primary() {
    const Token& t = peek();
    uint32_t begin = t.range.begin;
    auto n = std::make_unique<Arith>();
    switch (t.kind) {
      case Tok::Num:
        next();
        n->kind = Arith::Kind::Num;
        n->num = t.num;
        n->range = t.range;
        return n;
      case Tok::Len:
        next();
        n->kind = Arith::Kind::Len;
        n->range = t.range;
        return n;
      case Tok::Minus: {
        next();
        auto operand = arth(kUnaryMinusBp);
        if (!operand) return operand;
        n->kind = Arith::Kind::Neg;
        n->depth = (*operand)->depth + 1;
        n->lhs = std::move(*operand);
        n->range = from(begin);
        return n;
      }
      case Tok::LParen: {
        next();
        auto inner = arth(0);
        if (!inner) return inner;
        if (!accept(Tok::RParen)) return expect_error("')'");
        return inner;
      }
      case Tok::Pname: {
        next();
        if (!accept(Tok::LBracket)) return expect_error("'['");
        auto index = arth(0);
        if (!index) return index;
        n->kind = Arith::Kind::Load;
        n->proto = t.proto;
        n->size = 1;
        if (accept(Tok::Colon)) {
          if (peek().kind != Tok::Num) return expect_error("a size (1, 2 or 4)");
          n->size_range = peek().range;
          n->size = next().num;
        }
        if (!accept(Tok::RBracket)) return expect_error("']'");
        n->depth = (*index)->depth + 1;
        n->lhs = std::move(*index);
        n->range = from(begin);
        return n;
      }
      default:
        return error(t.range, t.kind == Tok::End ? "syntax error: unexpected end of expression"
                                                 : "syntax error: expected a number or a packet "
                                                   "accessor");
    }
  }

  // [pqual] broadcast | [pqual] multicast
  Expected<NodePtr> cast_other(Proto p, uint32_t begin) {
    Tok k = next().kind;
    NodePtr n =
        make(k == Tok::Broadcast ? Node::Kind::Broadcast : Node::Kind::Multicast, from(begin));
    n->proto = p;
    return n;
  }

  // pnum ::= NUM | "(" pnum ")"
  bool optional_pnum(Node& n) {
    size_t depth = 0, save = pos_;
    while (peek(depth).kind == Tok::LParen) depth++;
    if (peek(depth).kind != Tok::Num) return false;
    for (size_t i = 1; i <= depth; i++)
      if (peek(depth + i).kind != Tok::RParen) return false;
    pos_ = save + depth;
    n.num = next().num;
    n.has_num = true;
    pos_ += depth;
    return true;
  }

  /// other ::= "less" NUM | "greater" NUM | "byte" NUM byteop NUM
  ///         | "vlan" [pnum] | "mpls" [pnum] | "pppoed" | "pppoes" [pnum]
  ///         | "geneve" [pnum] | "llc" [ID] | "inbound" | "outbound"
  ///         | "ifindex" NUM | pf, 802.11, ATM and MTP primitives (refused)
  Expected<NodePtr> other() {
    const Token& t = peek();
    uint32_t begin = t.range.begin;
    switch (t.kind) {
      case Tok::Less:
      case Tok::Greater: {
        next();
        if (peek().kind != Tok::Num) return expect_error("a number");
        NodePtr n = make(t.kind == Tok::Less ? Node::Kind::Less : Node::Kind::Greater, t.range);
        n->num = next().num;
        n->range = from(begin);
        return n;
      }
      case Tok::Byte: {
        next();
        if (peek().kind != Tok::Num) return expect_error("a byte offset");
        NodePtr n = make(Node::Kind::Byte, t.range);
        n->byte_index = next().num;
        switch (peek().kind) {
          case Tok::Amp: n->byte_op = '&'; break;
          case Tok::Pipe: n->byte_op = '|'; break;
          case Tok::Lt: n->byte_op = '<'; break;
          case Tok::Gt: n->byte_op = '>'; break;
          case Tok::Eq: n->byte_op = '='; break;
          default: return expect_error("one of & | < > =");
        }
        next();
        if (peek().kind != Tok::Num) return expect_error("a number");
        n->num = next().num;
        n->range = from(begin);
        return n;
      }
      case Tok::Vlan:
      case Tok::Mpls:
      case Tok::Pppoes:
      case Tok::Geneve:
      case Tok::Pppoed: {
        next();
        Node::Kind k = t.kind == Tok::Vlan     ? Node::Kind::Vlan
                       : t.kind == Tok::Mpls   ? Node::Kind::Mpls
                       : t.kind == Tok::Pppoes ? Node::Kind::Pppoes
                       : t.kind == Tok::Geneve ? Node::Kind::Geneve
                                               : Node::Kind::Pppoed;
        NodePtr n = make(k, t.range);
        if (k != Node::Kind::Pppoed) optional_pnum(*n);
        n->range = from(begin);
        return n;
      }
      case Tok::Llc: {
        next();
        NodePtr n = make(Node::Kind::Llc, t.range);
        if (peek().kind == Tok::Id)
          n->text = next().text;
        else if (peek().kind == Tok::PfKw && (peek().text == "rnr"))
          n->text = next().text;
        n->range = from(begin);
        return n;
      }
      case Tok::Inbound:
      case Tok::Outbound:
        next();
        return make(t.kind == Tok::Inbound ? Node::Kind::Inbound : Node::Kind::Outbound, t.range);
      case Tok::Ifindex: {
        next();
        if (peek().kind != Tok::Num) return expect_error("an interface index");
        NodePtr n = make(Node::Kind::Ifindex, t.range);
        n->num = next().num;
        n->range = from(begin);
        return n;
      }
      case Tok::PfKw: return error(t.range, "'" + t.text + "' supported only on PF linktype");
      case Tok::Type:
      case Tok::Subtype:
      case Tok::DirKw: return error(t.range, "802.11 link-layer types supported only on 802.11");
      case Tok::AtmKw: return error(t.range, "'" + t.text + "' supported only on raw ATM");
      case Tok::MtpKw: return error(t.range, "'" + t.text + "' supported only on SS7");
      default: return syntax_error();
    }
  }

  std::vector<Token> t_;
  size_t pos_ = 0;
  uint32_t nesting_ = 0;
};

}  // namespace

Expected<std::unique_ptr<Node>> parse(const std::string& expr) {
  auto toks = lex(expr);
  if (!toks) return std::unexpected(toks.error());
  return Parser(std::move(*toks)).prog();
}

}  // namespace dw::filter
