// A plain HTTP client for the tests that scrape dropwatch's --metrics (and
// query a Prometheus server), in whatever network namespace the calling
// thread is in.
#pragma once

#include <cstdint>
#include <string>

namespace dw::test {

// GET http://127.0.0.1:port/path; the body of a 200 answer, or "" otherwise.
std::string http_get(uint16_t port, const std::string& path);

}  // namespace dw::test
