// The HTTP side of a WebSocket server (RFC 6455 §4.2): reads the client's Upgrade request and
// writes the answer: 101 with Sec-WebSocket-Accept and the subprotocol, or an HTTP error.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace topicdb::net {

// The request head is at most this long; a longer one is refused (431).
inline constexpr size_t kMaxUpgradeRequestBytes = 8192;

struct UpgradeAnswer {
  bool accepted = false;
  std::string response;  // the HTTP response to send
  std::string reason;    // why it was refused, for the log
};

// Length of the request head including its blank line, if `buffered` holds all of it.
std::optional<size_t> upgrade_request_length(std::string_view buffered);

// Answers the request head `head` for a server at `path` speaking `subprotocol` (MQTT over
// WebSocket: "/mqtt" and "mqtt", MQTT 5 §6).
UpgradeAnswer answer_upgrade(std::string_view head, std::string_view path,
                             std::string_view subprotocol);

// base64(SHA-1(key + RFC 6455's GUID)): the Sec-WebSocket-Accept for a Sec-WebSocket-Key.
std::string websocket_accept_key(std::string_view key);

}  // namespace topicdb::net
