// Errors as values outside the compiler (which has its own, with source
// ranges: compiler/diagnostic.h). Every fallible step returns Result<T>,
// whose error is a sentence for the operator: what went wrong and, where we
// know, how to fix it. errno is captured where the call failed, never read
// later.
#pragma once

#include <cerrno>
#include <cstring>
#include <expected>
#include <string>

namespace dw {

struct Error {
  std::string message;
  int code = 0;  // errno when the failure came from the system
};

template <typename T>
using Result = std::expected<T, Error>;
using Status = Result<void>;

inline std::unexpected<Error> fail(std::string message, int code = 0) {
  return std::unexpected<Error>(Error{std::move(message), code});
}

// "WHAT: strerror(err)", keeping err; call right after the failing call.
inline std::unexpected<Error> fail_errno(const std::string& what, int err = errno) {
  return fail(what + ": " + std::strerror(err), err);
}

}  // namespace dw
