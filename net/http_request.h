// HttpRequestParser: reads one HTTP/1.1 request head (request line and header fields) as
// its bytes arrive, within a size bound; for the operator endpoints such as /metrics, which
// take no request body.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace topicdb::net {

struct HttpRequest {
  std::string method;     // "GET"
  std::string target;     // "/metrics?x=1" (origin form, RFC 9112 §3.2.1)
  std::string path;       // the target without its query: "/metrics"
  int minor_version = 1;  // HTTP/1.0 or HTTP/1.1
  std::vector<std::pair<std::string, std::string>> headers;  // names as sent

  // The first field named `name` (case-insensitive), or null.
  const std::string* header(std::string_view name) const;
};

class HttpRequestParser {
 public:
  enum class State { kIncomplete, kComplete, kError };

  // A head longer than `max_head_bytes` (request line, fields and the blank line) is
  // refused with 431.
  explicit HttpRequestParser(size_t max_head_bytes = 8192) : max_head_bytes_(max_head_bytes) {}

  // Takes the next bytes; once complete or failed, later bytes are ignored.
  State feed(std::string_view bytes);
  State state() const { return state_; }
  // Valid once complete.
  const HttpRequest& request() const { return request_; }
  // Once failed: the status to answer (400, 431, 505) and why, for the log.
  int error_status() const { return error_status_; }
  const std::string& error() const { return error_; }

 private:
  State fail(int status, std::string why);
  // Parses the whole head (without its blank line).
  State parse_head(std::string_view head);

  size_t max_head_bytes_;
  std::string buffer_;
  size_t scanned_ = 0;  // where to resume looking for the blank line
  State state_ = State::kIncomplete;
  HttpRequest request_;
  int error_status_ = 0;
  std::string error_;
};

}  // namespace topicdb::net
