// Hand-built MQTT 3.1.1 packets for the raw-socket integration tests.
//
// These builders deliberately do no validation: tests use them to produce both valid and
// malformed byte sequences.
#ifndef TOPICDB_TESTS_INTEGRATION_MQTT_PACKETS_H_
#define TOPICDB_TESTS_INTEGRATION_MQTT_PACKETS_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace topicdb::itest {

using Bytes = std::vector<uint8_t>;

// Control packet types (high nibble of the fixed header's first byte).
enum PacketType : uint8_t {
  kConnect = 1,
  kConnack = 2,
  kPublish = 3,
  kPuback = 4,
  kPubrec = 5,
  kPubrel = 6,
  kPubcomp = 7,
  kSubscribe = 8,
  kSuback = 9,
  kUnsubscribe = 10,
  kUnsuback = 11,
  kPingreq = 12,
  kPingresp = 13,
  kDisconnect = 14,
};

struct Will {
  std::string topic;
  std::string payload;
  uint8_t qos = 0;
  bool retain = false;
};

struct ConnectSpec {
  std::string client_id;
  bool clean_session = true;
  uint16_t keep_alive = 60;
  std::string protocol_name = "MQTT";
  uint8_t protocol_level = 4;
  std::optional<Will> will;
  std::optional<std::string> username;
  std::optional<std::string> password;
  // OR-ed into the connect flags byte after the regular flags are computed (to build
  // malformed CONNECTs, e.g. the reserved bit 0x01).
  uint8_t extra_flags = 0;
  // Fixed header flags (low nibble); must be 0 for a valid CONNECT.
  uint8_t header_flags = 0;
};

// A received (or parsed) control packet: first byte of the fixed header plus the variable
// header and payload ("body").
struct Packet {
  uint8_t header = 0;
  Bytes body;

  uint8_t type() const { return header >> 4; }
  uint8_t flags() const { return header & 0x0F; }
  // The packet identifier of PUBACK/PUBREC/PUBREL/PUBCOMP/SUBACK/UNSUBACK (first two body
  // bytes); 0 when the body is too short.
  uint16_t packet_id() const;
};

struct PublishView {
  std::string topic;
  std::string payload;
  uint8_t qos = 0;
  bool dup = false;
  bool retain = false;
  uint16_t packet_id = 0;
};

// Encodes the "remaining length" variable byte integer (no upper bound check, so callers
// can build oversized headers).
Bytes encode_remaining_length(size_t length);
// Two-byte big-endian length prefix + bytes.
void append_string(Bytes& out, std::string_view s);
void append_u16(Bytes& out, uint16_t v);
Bytes to_bytes(std::string_view s);
// Fixed header (first byte + remaining length) + body.
Bytes make_packet(uint8_t first_byte, const Bytes& body);

Bytes connect_packet(const ConnectSpec& spec);
// Publish with a topic given as raw bytes (may be invalid UTF-8).
Bytes publish_packet(std::string_view topic, std::string_view payload, uint8_t qos = 0,
                     bool retain = false, bool dup = false, uint16_t packet_id = 0);
Bytes subscribe_packet(uint16_t packet_id,
                       const std::vector<std::pair<std::string, uint8_t>>& filters,
                       uint8_t header_flags = 0x02);
Bytes unsubscribe_packet(uint16_t packet_id, const std::vector<std::string>& filters);
Bytes puback_packet(uint16_t packet_id);
Bytes pubrec_packet(uint16_t packet_id);
Bytes pubrel_packet(uint16_t packet_id, uint8_t header_flags = 0x02);
Bytes pubcomp_packet(uint16_t packet_id);
Bytes pingreq_packet();
Bytes disconnect_packet();

// Parses a PUBLISH body; nullopt when the packet is not a well-formed PUBLISH.
std::optional<PublishView> parse_publish(const Packet& packet);

// Human-readable description of a packet for failure messages.
std::string describe(const Packet& packet);
std::string hex(const Bytes& bytes, size_t max_bytes = 64);

}  // namespace topicdb::itest

#endif  // TOPICDB_TESTS_INTEGRATION_MQTT_PACKETS_H_
