// Encoders for every packet in both versions. Each computes the remaining length first and
// writes the fixed header, then the fields, so the output is produced in one pass without
// patching. Inputs are trusted (built by the broker or a test): lengths fit their fields.
#include <string>

#include "broker/codec/codec.h"
#include "broker/codec/property_codec.h"
#include "broker/codec/wire.h"

namespace topicdb::mqtt {

namespace {

constexpr std::string_view kProtocolName = "MQTT";
constexpr std::string_view kMqtt31ProtocolName = "MQIsdp";

bool is_v5(ProtocolVersion v) { return v == ProtocolVersion::kV5; }

void put_fixed_header(PacketType type, uint8_t flags, size_t remaining, std::string* out) {
  put_u8(static_cast<uint8_t>((static_cast<uint8_t>(type) << 4) | flags), out);
  put_varint(static_cast<uint32_t>(remaining), out);
}

size_t prefixed_size(std::string_view s) { return 2 + s.size(); }

// The v5 trailer of acknowledgements, DISCONNECT and AUTH: reason code and properties may
// both be left out when the reason is 0x00 and there are no properties, and the properties
// alone when there are none (MQTT 5 §3.4.2.1, §3.14.2.1, §3.15.2.1).
size_t reason_trailer_size(uint8_t reason, const Properties& props) {
  if (!props.empty()) return 1 + properties_wire_size(props);
  return reason != 0 ? 1 : 0;
}

void put_reason_trailer(uint8_t reason, const Properties& props, std::string* out) {
  if (props.empty()) {
    if (reason != 0) put_u8(reason, out);
    return;
  }
  put_u8(reason, out);
  encode_properties(props, out);
}

size_t publish_remaining_length(const PublishPacket& p, ProtocolVersion v) {
  size_t n = prefixed_size(p.topic) + p.payload.size();
  if (p.qos > 0) n += 2;
  if (is_v5(v)) n += properties_wire_size(p.properties);
  return n;
}

}  // namespace

void encode(const ConnectPacket& p, std::string* out) {
  const bool v5 = is_v5(p.version);
  const bool mqtt31 = p.protocol_level == kMqtt31ProtocolLevel;
  const std::string_view name = mqtt31 ? kMqtt31ProtocolName : kProtocolName;
  size_t len = prefixed_size(name) + 1 + 1 + 2;  // name, level, flags, keep alive
  if (v5) len += properties_wire_size(p.properties);
  len += prefixed_size(p.client_id);
  uint8_t flags = p.clean_start ? 0x02 : 0x00;
  if (p.will) {
    flags |= static_cast<uint8_t>(0x04 | (p.will->qos << 3) | (p.will->retain ? 0x20 : 0));
    if (v5) len += properties_wire_size(p.will->properties);
    len += prefixed_size(p.will->topic) + prefixed_size(p.will->payload);
  }
  if (p.username) {
    flags |= 0x80;
    len += prefixed_size(*p.username);
  }
  if (p.password) {
    flags |= 0x40;
    len += prefixed_size(*p.password);
  }
  put_fixed_header(PacketType::kConnect, 0, len, out);
  put_prefixed(name, out);
  put_u8(mqtt31 ? kMqtt31ProtocolLevel : static_cast<uint8_t>(p.version), out);
  put_u8(flags, out);
  put_u16(p.keep_alive, out);
  if (v5) encode_properties(p.properties, out);
  put_prefixed(p.client_id, out);
  if (p.will) {
    if (v5) encode_properties(p.will->properties, out);
    put_prefixed(p.will->topic, out);
    put_prefixed(p.will->payload, out);
  }
  if (p.username) put_prefixed(*p.username, out);
  if (p.password) put_prefixed(*p.password, out);
}

void encode(const ConnackPacket& p, ProtocolVersion v, std::string* out) {
  const size_t len = 2 + (is_v5(v) ? properties_wire_size(p.properties) : 0);
  put_fixed_header(PacketType::kConnack, 0, len, out);
  put_u8(p.session_present ? 0x01 : 0x00, out);
  put_u8(p.reason_code, out);
  if (is_v5(v)) encode_properties(p.properties, out);
}

void encode_publish_header(const PublishPacket& p, ProtocolVersion v, std::string* out) {
  const auto flags = static_cast<uint8_t>((p.dup ? 0x08 : 0) | (p.qos << 1) | (p.retain ? 1 : 0));
  put_fixed_header(PacketType::kPublish, flags, publish_remaining_length(p, v), out);
  put_prefixed(p.topic, out);
  if (p.qos > 0) put_u16(p.packet_id, out);
  if (is_v5(v)) encode_properties(p.properties, out);
}

void encode(const PublishPacket& p, ProtocolVersion v, std::string* out) {
  encode_publish_header(p, v, out);
  out->append(p.payload.data(), p.payload.size());
}

size_t encoded_publish_size(const PublishPacket& p, ProtocolVersion v) {
  const size_t remaining = publish_remaining_length(p, v);
  return 1 + varint_size(static_cast<uint32_t>(remaining)) + remaining;
}

void encode(const AckPacket& p, ProtocolVersion v, std::string* out) {
  const size_t len = 2 + (is_v5(v) ? reason_trailer_size(p.reason_code, p.properties) : 0);
  // MQTT-3.6.1-1: PUBREL carries the flags 0010.
  put_fixed_header(p.type, p.type == PacketType::kPubrel ? 0x02 : 0x00, len, out);
  put_u16(p.packet_id, out);
  if (is_v5(v)) put_reason_trailer(p.reason_code, p.properties, out);
}

void encode(const SubscribePacket& p, ProtocolVersion v, std::string* out) {
  size_t len = 2 + (is_v5(v) ? properties_wire_size(p.properties) : 0);
  for (const SubscriptionRequest& s : p.subscriptions) len += prefixed_size(s.filter) + 1;
  put_fixed_header(PacketType::kSubscribe, 0x02, len, out);
  put_u16(p.packet_id, out);
  if (is_v5(v)) encode_properties(p.properties, out);
  for (const SubscriptionRequest& s : p.subscriptions) {
    put_prefixed(s.filter, out);
    uint8_t options = s.qos & 0x03;
    if (is_v5(v)) {
      options |= static_cast<uint8_t>((s.no_local ? 0x04 : 0) | (s.retain_as_published ? 0x08 : 0) |
                                      ((s.retain_handling & 0x03) << 4));
    }
    put_u8(options, out);
  }
}

void encode(const SubackPacket& p, ProtocolVersion v, std::string* out) {
  const size_t len =
      2 + (is_v5(v) ? properties_wire_size(p.properties) : 0) + p.reason_codes.size();
  put_fixed_header(PacketType::kSuback, 0, len, out);
  put_u16(p.packet_id, out);
  if (is_v5(v)) encode_properties(p.properties, out);
  for (uint8_t code : p.reason_codes) put_u8(code, out);
}

void encode(const UnsubscribePacket& p, ProtocolVersion v, std::string* out) {
  size_t len = 2 + (is_v5(v) ? properties_wire_size(p.properties) : 0);
  for (const std::string& f : p.filters) len += prefixed_size(f);
  put_fixed_header(PacketType::kUnsubscribe, 0x02, len, out);
  put_u16(p.packet_id, out);
  if (is_v5(v)) encode_properties(p.properties, out);
  for (const std::string& f : p.filters) put_prefixed(f, out);
}

void encode(const UnsubackPacket& p, ProtocolVersion v, std::string* out) {
  // 3.1.1 UNSUBACK is only the packet identifier (§3.11.2); reason codes are v5.
  const size_t len =
      2 + (is_v5(v) ? properties_wire_size(p.properties) + p.reason_codes.size() : 0);
  put_fixed_header(PacketType::kUnsuback, 0, len, out);
  put_u16(p.packet_id, out);
  if (!is_v5(v)) return;
  encode_properties(p.properties, out);
  for (uint8_t code : p.reason_codes) put_u8(code, out);
}

void encode(const PingreqPacket&, std::string* out) {
  put_fixed_header(PacketType::kPingreq, 0, 0, out);
}

void encode(const PingrespPacket&, std::string* out) {
  put_fixed_header(PacketType::kPingresp, 0, 0, out);
}

void encode(const DisconnectPacket& p, ProtocolVersion v, std::string* out) {
  const size_t len = is_v5(v) ? reason_trailer_size(p.reason_code, p.properties) : 0;
  put_fixed_header(PacketType::kDisconnect, 0, len, out);
  if (is_v5(v)) put_reason_trailer(p.reason_code, p.properties, out);
}

void encode(const AuthPacket& p, std::string* out) {
  put_fixed_header(PacketType::kAuth, 0, reason_trailer_size(p.reason_code, p.properties), out);
  put_reason_trailer(p.reason_code, p.properties, out);
}

}  // namespace topicdb::mqtt
