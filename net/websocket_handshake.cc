#include "net/websocket_handshake.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cctype>
#include <vector>

namespace topicdb::net {

namespace {

constexpr std::string_view kWebSocketGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// Whether a comma-separated header value holds `token` (case-insensitive).
bool has_token(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    size_t comma = list.find(',');
    if (iequals(trim(list.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

UpgradeAnswer refuse(std::string_view status, std::string reason,
                     std::string_view extra_header = "") {
  UpgradeAnswer answer;
  answer.reason = std::move(reason);
  answer.response = "HTTP/1.1 " + std::string(status) + "\r\n" + std::string(extra_header) +
                    "Connection: close\r\nContent-Length: 0\r\n\r\n";
  return answer;
}

}  // namespace

std::optional<size_t> upgrade_request_length(std::string_view buffered) {
  size_t end = buffered.find("\r\n\r\n");
  if (end == std::string_view::npos) return std::nullopt;
  return end + 4;
}

UpgradeAnswer answer_upgrade(std::string_view head, std::string_view path,
                             std::string_view subprotocol) {
  size_t line_end = head.find("\r\n");
  std::string_view request_line = head.substr(0, line_end);
  // "GET /mqtt HTTP/1.1" (RFC 6455 §4.1: GET, HTTP/1.1 or later).
  size_t sp1 = request_line.find(' ');
  size_t sp2 = request_line.rfind(' ');
  if (sp1 == std::string_view::npos || sp2 == sp1 ||
      request_line.substr(sp2 + 1).rfind("HTTP/1.", 0) != 0) {
    return refuse("400 Bad Request", "not an HTTP/1.1 request");
  }
  if (request_line.substr(0, sp1) != "GET") {
    return refuse("405 Method Not Allowed", "method is not GET", "Allow: GET\r\n");
  }
  std::string_view target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
  if (target.substr(0, target.find('?')) != path) {
    return refuse("404 Not Found",
                  "path '" + std::string(target) + "' is not " + std::string(path));
  }
  bool upgrade = false;
  bool connection_upgrade = false;
  bool protocol_offered = false;
  std::string_view key;
  std::string_view version;
  std::string_view rest = line_end == std::string_view::npos ? "" : head.substr(line_end + 2);
  while (!rest.empty()) {
    size_t end = rest.find("\r\n");
    std::string_view line = rest.substr(0, end);
    rest = end == std::string_view::npos ? "" : rest.substr(end + 2);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view name = trim(line.substr(0, colon));
    std::string_view value = trim(line.substr(colon + 1));
    if (iequals(name, "Upgrade")) {
      upgrade = upgrade || has_token(value, "websocket");
    } else if (iequals(name, "Connection")) {
      connection_upgrade = connection_upgrade || has_token(value, "upgrade");
    } else if (iequals(name, "Sec-WebSocket-Key")) {
      key = value;
    } else if (iequals(name, "Sec-WebSocket-Version")) {
      version = value;
    } else if (iequals(name, "Sec-WebSocket-Protocol")) {
      protocol_offered = protocol_offered || has_token(value, subprotocol);
    }
  }
  if (!upgrade || !connection_upgrade) {
    return refuse("426 Upgrade Required", "not a WebSocket upgrade", "Upgrade: websocket\r\n");
  }
  if (version != "13") {
    return refuse("426 Upgrade Required",
                  "unsupported WebSocket version '" + std::string(version) + "'",
                  "Sec-WebSocket-Version: 13\r\n");
  }
  // The key is 16 random bytes in base64 (RFC 6455 §4.1): 24 characters.
  if (key.size() != 24) return refuse("400 Bad Request", "bad Sec-WebSocket-Key");
  // MQTT 5 §6 (MQTT-6.0.0-3/4): the client offers "mqtt" and the server picks it.
  if (!protocol_offered) {
    return refuse("400 Bad Request", "subprotocol '" + std::string(subprotocol) + "' not offered");
  }
  UpgradeAnswer answer;
  answer.accepted = true;
  answer.response =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Accept: " +
      websocket_accept_key(key) + "\r\nSec-WebSocket-Protocol: " + std::string(subprotocol) +
      "\r\n\r\n";
  return answer;
}

std::string websocket_accept_key(std::string_view key) {
  std::string input(key);
  input.append(kWebSocketGuid);
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  unsigned char encoded[4 * ((SHA_DIGEST_LENGTH + 2) / 3) + 1];
  int len = EVP_EncodeBlock(encoded, digest, SHA_DIGEST_LENGTH);
  return std::string(reinterpret_cast<char*>(encoded), static_cast<size_t>(len));
}

}  // namespace topicdb::net
