// Exit statuses of dropwatch and dropfilter, as --help and docs/cli.md
// document them. One meaning each across both tools and every subcommand.
#pragma once

namespace dw::cli {

// Done: stopped by --count, --duration, a signal, or the reader of
// standard output going away; everything asked for was written.
inline constexpr int kExitOk = 0;
// Running failed: the probe could not start, events could not be written,
// stored lines were not events; dropfilter: the expression is invalid or
// the kernel refused it.
inline constexpr int kExitFailure = 1;
// The command line is wrong: a flag, a value, a filter expression (for
// dropwatch), a device, a reason, a namespace, a file that cannot be used.
inline constexpr int kExitUsage = 2;

}  // namespace dw::cli
