// libFuzzer target for the HTTP request-head parser of the operator endpoints (/metrics): the
// first byte picks where the input is split into two reads, the rest is what a client sent.
// Whatever comes in, the parser must end incomplete, complete with a well-formed request, or
// failed with a documented status; and reading the bytes in two pieces must give the same
// outcome as reading them at once. Sanitizers catch the rest.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz/fuzz_check.h"
#include "net/http_request.h"

namespace {

using topicdb::net::HttpRequest;
using topicdb::net::HttpRequestParser;

constexpr size_t kMaxHead = 1024;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  const size_t split = bytes.empty() ? 0 : data[0] % (bytes.size() + 1);

  HttpRequestParser whole(kMaxHead);
  const HttpRequestParser::State at_once = whole.feed(bytes);
  HttpRequestParser pieces(kMaxHead);
  pieces.feed(bytes.substr(0, split));
  const HttpRequestParser::State in_two = pieces.feed(bytes.substr(split));
  TOPICDB_FUZZ_CHECK(at_once == in_two, "the outcome depends on how the bytes were split");

  if (at_once == HttpRequestParser::State::kError) {
    const int status = whole.error_status();
    TOPICDB_FUZZ_CHECK(status == 400 || status == 431 || status == 505,
                       "an undocumented error status");
    TOPICDB_FUZZ_CHECK(!whole.error().empty(), "an error without a reason");
    TOPICDB_FUZZ_CHECK(status == pieces.error_status(), "split reads failed differently");
  } else if (at_once == HttpRequestParser::State::kComplete) {
    const HttpRequest& r = whole.request();
    TOPICDB_FUZZ_CHECK(!r.method.empty() && r.method.find(' ') == std::string::npos,
                       "a method with a space");
    TOPICDB_FUZZ_CHECK(!r.path.empty() && r.path[0] == '/', "a path that is not absolute");
    TOPICDB_FUZZ_CHECK(r.target.rfind(r.path, 0) == 0, "the path is not the target's start");
    TOPICDB_FUZZ_CHECK(r.minor_version >= 0 && r.minor_version <= 9, "a minor version not a digit");
    TOPICDB_FUZZ_CHECK(r.minor_version == 0 || r.header("host") != nullptr,
                       "an HTTP/1.1 request without Host");
    TOPICDB_FUZZ_CHECK(r.target == pieces.request().target && r.headers == pieces.request().headers,
                       "split reads parsed differently");
  }
  return 0;
}
