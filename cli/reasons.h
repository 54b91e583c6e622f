// dropwatch reasons: the running kernel's drop reasons (from its BTF), each
// with its code, subsystem, and what it means from probe/reason_catalogue.h.
#pragma once

#include <string>
#include <vector>

namespace dw::cli {

// Every reason, or those named (close names suggested for an unknown one).
// 0; 1 the kernel's BTF cannot be read; 2 an unknown name.
int run_reasons(const std::vector<std::string>& names);

}  // namespace dw::cli
