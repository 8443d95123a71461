#include "net/http_request.h"

#include <algorithm>
#include <cctype>

namespace topicdb::net {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// RFC 9110 §5.6.2: tchar.
bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) != 0) continue;
    if (std::string_view("!#$%&'*+-.^_`|~").find(c) == std::string_view::npos) return false;
  }
  return true;
}

// Visible characters only: no control bytes, spaces or DEL.
bool is_visible(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u != 0x7f;
  });
}

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Splits off the first line; accepts CRLF and, as RFC 9112 §2.2 allows, a bare LF.
std::string_view next_line(std::string_view* rest) {
  size_t lf = rest->find('\n');
  std::string_view line = rest->substr(0, lf);
  *rest = lf == std::string_view::npos ? std::string_view() : rest->substr(lf + 1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

}  // namespace

const std::string* HttpRequest::header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (iequals(n, name)) return &v;
  }
  return nullptr;
}

HttpRequestParser::State HttpRequestParser::fail(int status, std::string why) {
  state_ = State::kError;
  error_status_ = status;
  error_ = std::move(why);
  buffer_.clear();
  return state_;
}

HttpRequestParser::State HttpRequestParser::feed(std::string_view bytes) {
  if (state_ != State::kIncomplete) return state_;
  buffer_.append(bytes);
  // RFC 9112 §2.2: empty lines before the request line are ignored.
  size_t start = buffer_.find_first_not_of("\r\n");
  if (start == std::string::npos) {
    if (buffer_.size() > max_head_bytes_) return fail(431, "request head too large");
    return state_;
  }
  if (start > 0) {
    buffer_.erase(0, start);
    scanned_ = 0;
  }
  // The head ends at the first empty line: "\n\n" or "\n\r\n".
  size_t end = std::string::npos;
  size_t head_bytes = 0;
  for (size_t i = scanned_; i < buffer_.size(); ++i) {
    if (buffer_[i] != '\n') continue;
    if (i + 1 < buffer_.size() && buffer_[i + 1] == '\n') {
      end = i;
      head_bytes = i + 2;
      break;
    }
    if (i + 2 < buffer_.size() && buffer_[i + 1] == '\r' && buffer_[i + 2] == '\n') {
      end = i;
      head_bytes = i + 3;
      break;
    }
  }
  if (end == std::string::npos) {
    if (buffer_.size() > max_head_bytes_) return fail(431, "request head too large");
    // The blank line may straddle this read and the next: look again from two bytes back.
    scanned_ = buffer_.size() > 2 ? buffer_.size() - 2 : 0;
    return state_;
  }
  if (head_bytes > max_head_bytes_) return fail(431, "request head too large");
  State s = parse_head(std::string_view(buffer_).substr(0, end));
  buffer_.clear();
  return s;
}

HttpRequestParser::State HttpRequestParser::parse_head(std::string_view head) {
  std::string_view rest = head;
  // request-line = method SP request-target SP HTTP-version (RFC 9112 §3).
  std::string_view line = next_line(&rest);
  const size_t sp1 = line.find(' ');
  const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
    return fail(400, "malformed request line");
  }
  const std::string_view method = line.substr(0, sp1);
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (!is_token(method)) return fail(400, "malformed method");
  if (target.empty() || target[0] != '/' || !is_visible(target)) {
    return fail(400, "request target is not an absolute path");
  }
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[6] != '.' ||
      !std::isdigit(static_cast<unsigned char>(version[5])) ||
      !std::isdigit(static_cast<unsigned char>(version[7]))) {
    return fail(400, "malformed HTTP version");
  }
  if (version[5] != '1') return fail(505, "only HTTP/1.x is served");
  request_.method = method;
  request_.target = target;
  request_.path = target.substr(0, target.find('?'));
  request_.minor_version = version[7] - '0';

  while (!rest.empty()) {
    line = next_line(&rest);
    if (line.empty()) continue;
    // Obsolete line folding (RFC 9112 §5.2) is refused rather than unfolded.
    if (line[0] == ' ' || line[0] == '\t') return fail(400, "folded header field");
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) return fail(400, "header field without a colon");
    // No whitespace between the name and the colon (RFC 9112 §5.1).
    const std::string_view name = line.substr(0, colon);
    if (!is_token(name)) return fail(400, "malformed header field name");
    const std::string_view value = trim_ows(line.substr(colon + 1));
    for (char c : value) {
      const auto u = static_cast<unsigned char>(c);
      if ((u < 0x20 && c != '\t') || u == 0x7f) return fail(400, "control byte in a field value");
    }
    request_.headers.emplace_back(name, value);
  }
  // RFC 9112 §3.2: an HTTP/1.1 request without Host is answered 400.
  if (request_.minor_version >= 1 && request_.header("Host") == nullptr) {
    return fail(400, "no Host header");
  }
  // These endpoints take no body; one could not be told from the next request anyway.
  if (request_.header("Transfer-Encoding") != nullptr)
    return fail(400, "request bodies are not accepted");
  if (const std::string* length = request_.header("Content-Length"); length && *length != "0") {
    return fail(400, "request bodies are not accepted");
  }
  state_ = State::kComplete;
  return state_;
}

}  // namespace topicdb::net
