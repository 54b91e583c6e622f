// Tables for the front end: expression -> whole rendered diagnostic,
// expression -> AST (qualifier inheritance), and aliases that must lower to
// the same IR.
#include <gtest/gtest.h>

#include "compiler/ir.h"
#include "compiler/lexer.h"
#include "compiler/parser.h"
#include "compiler/pipeline.h"

namespace dw::filter {
namespace {

struct DiagCase {
  const char* expr;
  const char* rendered;
  LinkType link = LinkType::Ethernet;
};

TEST(Diagnostics, RenderedWithACaretUnderTheColumns) {
  const DiagCase cases[] = {
      {"tcp port 70000",
       "filter:1:10-14: error: illegal port number 70000 > 65535\n"
       "tcp port 70000\n"
       "         ^~~~~\n"},
      {"tcp port",
       "filter:1:9: error: syntax error: unexpected end of expression\n"
       "tcp port\n"
       "        ^\n"},
      {"ether[0:3] = 1",
       "filter:1:9: error: data size must be 1, 2, or 4\n"
       "ether[0:3] = 1\n"
       "        ^\n"},
      {"net 10.0.0.1/8",
       "filter:1:5-14: error: non-network bits set in \"10.0.0.1/8\"\n"
       "net 10.0.0.1/8\n"
       "    ^~~~~~~~~~\n"},
      {"net 10.0.0.0/33",
       "filter:1:5-15: error: mask length must be <= 32\n"
       "net 10.0.0.0/33\n"
       "    ^~~~~~~~~~~\n"},
      {"tcp and 80",
       "filter:1:9-10: error: syntax error: an address needs a qualifier such as 'host' or 'port' "
       "here\n"
       "tcp and 80\n"
       "        ^~\n"},
      {"ip and @",
       "filter:1:8: error: illegal character '@' in filter expression\n"
       "ip and @\n"
       "       ^\n"},
      {"tcp\x01",
       "filter:1:4: error: illegal character 0x01 in filter expression\n"
       "tcp \n"
       "   ^\n"},
      {"port 80 \xc3\xa9",
       "filter:1:9: error: illegal character 0xc3 in filter expression\n"
       "port 80 ??\n"
       "        ^\n"},
      {"ether[0] / 0 = 1",
       "filter:1:12: error: division by zero\n"
       "ether[0] / 0 = 1\n"
       "           ^\n"},
      {"arp",
       "filter:1:1-3: error: expression rejects all packets\n"
       "arp\n"
       "^~~\n",
       LinkType::RawIp},
      {"vlan 4096",
       "filter:1:1-9: error: VLAN tag 4096 greater than maximum 4095\n"
       "vlan 4096\n"
       "^~~~~~~~~\n"},
      {"ip proto \\nosuch",
       "filter:1:10-16: error: unknown ip proto 'nosuch'\n"
       "ip proto \\nosuch\n"
       "         ^~~~~~~\n"},
      {"udp port http",
       "filter:1:10-13: error: port 'http' is tcp\n"
       "udp port http\n"
       "         ^~~~\n"},
      {"0x100000000 = 1",
       "filter:1:1-11: error: number 0x100000000 overflows 32 bits\n"
       "0x100000000 = 1\n"
       "^~~~~~~~~~~\n"},
      {"09 = 1",
       "filter:1:1-2: error: number 09 contains non-octal digit\n"
       "09 = 1\n"
       "^~\n"},
      {"ether host aa:bb:cc",
       "filter:1:12-17: error: bogus ethernet address aa:bb:\n"
       "ether host aa:bb:cc\n"
       "           ^~~~~~\n"},
      {"host 1::2::3",  // flex's longest match is the bogus-MAC rule
       "filter:1:6-11: error: bogus ethernet address 1::2::\n"
       "host 1::2::3\n"
       "     ^~~~~~\n"},
      {"ether host 02:00:00:00:00:01",
       "filter:1:12-28: error: ethernet addresses supported only on ethernet/FDDI/token "
       "ring/802.11/ATM LANE/Fibre Channel\n"
       "ether host 02:00:00:00:00:01\n"
       "           ^~~~~~~~~~~~~~~~~\n",
       LinkType::RawIp},
      {"host localhost",
       "filter:1:6-14: error: unknown host 'localhost': dropfilter does not resolve host names, "
       "use an address\n"
       "host localhost\n"
       "     ^~~~~~~~~\n"},
  };
  for (const auto& c : cases) {
    auto r = compile_front(c.expr, {c.link});
    ASSERT_FALSE(r) << c.expr << " compiled";
    EXPECT_EQ(r.error().render(c.expr), c.rendered);
  }
}

// An expression read with -F has lines: the error names the file, the line
// and the columns in it, and shows that line alone.
TEST(Diagnostics, AFileShowsTheLineOfTheError) {
  // (the reader has blanked the comment, "# web")
  const std::string text = "     \nhost 10.0.0.1 or\n  tcp port 99999";
  auto r = compile_front(text, {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().render(text, "hosts.filter"),
            "hosts.filter:3:12-16: error: illegal port number 99999 > 65535\n"
            "  tcp port 99999\n"
            "           ^~~~~\n");
  const std::string open = "tcp port 80\n  or";
  auto end = compile_front(open, {});
  ASSERT_FALSE(end);
  EXPECT_EQ(end.error().render(open, "f"),
            "f:2:5: error: syntax error: unexpected end of expression\n  or\n    ^\n");
}

struct AstCase {
  const char* expr;
  const char* ast;
};

TEST(Parser, QualifierInheritanceIsExplicit) {
  const AstCase cases[] = {
      {"tcp port 80 or 443", "(or (tcp port 80) (tcp port 443))"},
      {"host 10.0.0.1 and port 80 or 443", "(or (and (host 10.0.0.1) (port 80)) (port 443))"},
      {"host 10.0.0.1 and (10.0.0.2 or 10.0.0.3)",
       "(and (host 10.0.0.1) (or (host 10.0.0.2) (host 10.0.0.3)))"},
      {"src host 10.0.0.1 and not 10.0.0.2", "(and (src host 10.0.0.1) (not (src host 10.0.0.2)))"},
      {"tcp or udp and port 53", "(and (or tcp udp) (port 53))"},  // and/or: one precedence
      {"not tcp or udp", "(or (not tcp) udp)"},
      {"ether src or dst 02:00:00:00:00:01", "(link src-or-dst 02:00:00:00:00:01)"},
      {"ip6 net 2001:db8::/32", "(ip6 net 2001:db8::/32)"},
      {"tcp[tcpflags] & (tcp-syn|tcp-ack) != 0", "(!= (& tcp[13:1] (| 2 16)) 0)"},
      {"ether[0] + ether[1] % 3 + 1 = 2", "(= (+ link[0:1] (% link[1:1] (+ 3 1))) 2)"},
      {"2 + 3 * 4 = 14", "(= (+ 2 (* 3 4)) 14)"},
      {"-ether[0] = 0", "(= (- link[0:1]) 0)"},
      {"vlan 100 and tcp", "(and (vlan 100) tcp)"},
      {"ip proto \\tcp", "(ip proto tcp)"},
  };
  for (const auto& c : cases) {
    auto r = parse(c.expr);
    ASSERT_TRUE(r) << c.expr << ": " << r.error().message;
    EXPECT_EQ(dump(**r), c.ast) << c.expr;
  }
}

struct Alias {
  const char* a;
  const char* b;
};

TEST(Lowering, AliasesLowerToIdenticalIr) {
  const Alias cases[] = {
      {"tcp port 80 or 443", "tcp port 80 or tcp port 443"},
      {"host 10.0.0.1 and port 80 or 443", "(host 10.0.0.1 and port 80) or port 443"},
      {"! tcp", "not tcp"},
      {"tcp && port 80", "tcp and port 80"},
      {"tcp || udp", "tcp or udp"},
      {"ether[0] == 1", "ether[0] = 1"},
      {"link[0] = 1", "ether[0] = 1"},
      {"length > 10", "len > 10"},
      {"ip6 proto \\tcp", "ip6 proto 6"},
      {"tcp[tcpflags] = tcp-syn", "tcp[13] = 2"},
      {"icmp[icmptype] = icmp-echo", "icmp[0] = 8"},
      {"net 10.0.0.0/8", "net 10.0.0.0 mask 255.0.0.0"},
      {"net 10", "net 10.0.0.0/8"},
      {"host 10.1", "net 10.1.0.0/16"},
      {"src or dst host 10.0.0.1", "host 10.0.0.1"},
      {"port http", "tcp port 80"},  // http is a TCP service: libpcap narrows
      {"ether proto \\ip", "ether proto 0x0800"},
      {"greater 100", "len >= 100"},
      {"less 100", "len <= 100"},
      {"0x10 = 16", "020 = 16"},
  };
  for (const auto& c : cases) {
    auto a = compile_front(c.a, {});
    auto b = compile_front(c.b, {});
    ASSERT_TRUE(a && b) << c.a << " / " << c.b;
    EXPECT_EQ(ir::print(a->ir), ir::print(b->ir)) << c.a << " vs " << c.b;
  }
}

TEST(Lexer, LongestMatchThenRuleOrder) {
  struct LexCase {
    const char* text;
    Tok kind;
  };
  const LexCase cases[] = {
      {"tcp", Tok::Pname},
      {"tcpx", Tok::Id},
      {"ip6", Tok::Pname},
      {"80", Tok::Num},
      {"0x1f", Tok::Num},
      {"1e3", Tok::Id},
      {"1-2", Tok::Id},
      {"10.0.0.1", Tok::Hid},
      {"10.0.0.1x", Tok::Id},
      {"fe80::1", Tok::Hid6},
      {"::", Tok::Hid6},
      {"::ffff:1.2.3.4", Tok::Hid6},
      {"aa:bb:cc:dd:ee:ff", Tok::Eid},
      {"0200.0000.0002", Tok::Eid},
      {"001122334455", Tok::Eid},
      {"$0a", Tok::Aid},
      {"tcp-syn", Tok::Num},
      {"\\tcp", Tok::Id},
      {"and", Tok::And},
      {"&&", Tok::And},
      {"!=", Tok::Neq},
      {"android", Tok::Id},
  };
  for (const auto& c : cases) {
    auto t = lex(c.text);
    ASSERT_TRUE(t) << c.text;
    ASSERT_EQ(t->size(), 2u) << c.text << " is one token";
    EXPECT_EQ((*t)[0].kind, c.kind) << c.text;
  }
}

}  // namespace
}  // namespace dw::filter
