// CONNECT (MQTT 3.1.1 §3.1, MQTT 5 §3.1, and MQTT 3.1's "MQIsdp"). The only packet that
// carries its own protocol version, so it ignores the connection's.
#include <string>
#include <utility>

#include "broker/codec/decode_internal.h"
#include "broker/codec/property_codec.h"
#include "broker/topic_rules.h"

namespace topicdb::mqtt::decode_detail {

namespace {

// Connect flags, MQTT 3.1.1 §3.1.2.3 / MQTT 5 §3.1.2.3.
constexpr uint8_t kReservedFlag = 0x01;
constexpr uint8_t kCleanStartFlag = 0x02;
constexpr uint8_t kWillFlag = 0x04;
constexpr uint8_t kWillRetainFlag = 0x20;
constexpr uint8_t kPasswordFlag = 0x40;
constexpr uint8_t kUsernameFlag = 0x80;

Status check_connect_flags(uint8_t flags, ProtocolVersion version) {
  if ((flags & kReservedFlag) != 0) return malformed("CONNECT reserved flag set");  // 3.1.2-3
  const uint8_t will_qos = (flags >> 3) & 0x03;
  if ((flags & kWillFlag) == 0) {
    // MQTT-3.1.2-11, MQTT-3.1.2-13, MQTT-3.1.2-15: no will, so no will QoS or retain.
    if (will_qos != 0) return malformed("CONNECT will QoS set without a will");
    if ((flags & kWillRetainFlag) != 0) return malformed("CONNECT will retain without a will");
  } else if (will_qos == 3) {
    return malformed("CONNECT will QoS 3");  // MQTT-3.1.2-14
  }
  // MQTT-3.1.2-22: 3.1.1 forbids a password without a user name; MQTT 5 allows it.
  if (version == ProtocolVersion::kV311 && (flags & kPasswordFlag) != 0 &&
      (flags & kUsernameFlag) == 0) {
    return malformed("CONNECT password flag without user name flag");
  }
  return Status::ok();
}

Status read_will(WireReader* r, uint8_t flags, ProtocolVersion version, Will* will) {
  will->qos = (flags >> 3) & 0x03;
  will->retain = (flags & kWillRetainFlag) != 0;
  // MQTT 5 §3.1.3.2: will properties come before the will topic.
  if (version == ProtocolVersion::kV5) {
    TDB_RETURN_IF_ERROR(decode_properties(r, PropertyContext::kWill, &will->properties));
  }
  std::string_view topic;
  TDB_RETURN_IF_ERROR(read_utf8(r, "will topic", &topic));
  // The will is published as-is later, so it needs a proper topic name (MQTT-3.1.3-10 makes
  // it a UTF-8 string; MQTT-4.7.3-1 and MQTT-3.3.2-2 apply once it is published).
  if (!is_valid_topic_name(topic)) return protocol_error("will topic is not a valid topic name");
  std::string_view payload;
  if (!r->read_prefixed(&payload)) return malformed("will payload runs past the packet");
  will->topic.assign(topic);
  will->payload.assign(payload);
  return Status::ok();
}

}  // namespace

Result<Packet> decode_connect(std::string_view body) {
  WireReader r(body);
  std::string_view name;
  uint8_t level = 0;
  if (!r.read_prefixed(&name) || !r.read_u8(&level)) {
    return malformed("CONNECT too short for protocol name and level");
  }
  // MQTT-3.1.2-1 / MQTT-3.1.2-2: the broker answers these with CONNACK 0x01 (3.1.1) or 0x84
  // (5), so they get their own error code. A name that does not go with its level ("MQTT"
  // level 3, "MQIsdp" level 4) is refused the same way, as mosquitto does.
  const bool mqtt31 = name == "MQIsdp" && level == kMqtt31ProtocolLevel;
  const bool mqtt = name == "MQTT" && (level == static_cast<uint8_t>(ProtocolVersion::kV311) ||
                                       level == static_cast<uint8_t>(ProtocolVersion::kV5));
  if (!mqtt31 && !mqtt) {
    return Status::unsupported("protocol name '" + std::string(name) + "' with level " +
                               std::to_string(level));
  }
  ConnectPacket p;
  p.protocol_level = level;
  // 3.1 is read with the 3.1.1 rules: its CONNECT has the same layout (see packets.h).
  p.version = mqtt31 ? ProtocolVersion::kV311 : static_cast<ProtocolVersion>(level);
  uint8_t flags = 0;
  if (!r.read_u8(&flags)) return malformed("CONNECT flags missing");
  TDB_RETURN_IF_ERROR(check_connect_flags(flags, p.version));
  p.clean_start = (flags & kCleanStartFlag) != 0;
  if (!r.read_u16(&p.keep_alive)) return malformed("CONNECT keep alive missing");
  if (p.version == ProtocolVersion::kV5) {
    TDB_RETURN_IF_ERROR(decode_properties(&r, PropertyContext::kConnect, &p.properties));
  }
  // The client id may be empty (MQTT-3.1.3-6); whether that is acceptable is the broker's call.
  std::string_view client_id;
  TDB_RETURN_IF_ERROR(read_utf8(&r, "client identifier", &client_id));
  p.client_id.assign(client_id);
  if ((flags & kWillFlag) != 0) {
    TDB_RETURN_IF_ERROR(read_will(&r, flags, p.version, &p.will.emplace()));
  }
  if ((flags & kUsernameFlag) != 0) {
    std::string_view username;
    TDB_RETURN_IF_ERROR(read_utf8(&r, "user name", &username));  // MQTT-3.1.3-11
    p.username.emplace(username);
  }
  if ((flags & kPasswordFlag) != 0) {
    std::string_view password;  // Binary Data: any bytes
    if (!r.read_prefixed(&password)) return malformed("password runs past the packet");
    p.password.emplace(password);
  }
  TDB_RETURN_IF_ERROR(expect_end(r, "CONNECT"));
  return Packet(std::move(p));
}

}  // namespace topicdb::mqtt::decode_detail
