// Recursive-descent parser for the pcap-filter grammar (grammar/pcap-filter.ebnf).
// Hand-written rather than bison so that every error carries the source range
// of the token that broke the parse (bpftrace made the same move, see its
// docs/language_parsing.md), and so that qualifier inheritance is explicit.
#pragma once

#include <memory>
#include <string>

#include "compiler/ast.h"
#include "compiler/diagnostic.h"

namespace dw::filter {

// nullptr for the empty expression, which accepts every packet.
Expected<std::unique_ptr<Node>> parse(const std::string& expr);

}  // namespace dw::filter
