// IR -> IR: the folds that change what libpcap's optimizer makes observable.
// libpcap compiles with its optimizer on (as tcpdump does), and the optimizer
// deletes loads whose value cannot matter (x & 0, x * 0, a test whose both
// branches meet), so a packet too short for such a load is not rejected.
// We fold the same cases; compile_front() reports a filter that then
// rejects everything with libpcap's "expression rejects all packets".
#pragma once

#include "compiler/diagnostic.h"
#include "compiler/ir.h"

namespace dw::filter {

ir::PredPtr simplify(const ir::PredPtr& p);

}  // namespace dw::filter
