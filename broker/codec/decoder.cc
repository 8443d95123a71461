// decode_packet: fixed-header flag rules, then one decoder per packet type. CONNECT lives in
// decode_connect.cc, the subscription packets in decode_subscribe.cc.
#include <string>
#include <utility>

#include "broker/codec/codec.h"
#include "broker/codec/decode_internal.h"
#include "broker/codec/property_codec.h"
#include "broker/topic_rules.h"

namespace topicdb::mqtt {
namespace decode_detail {

Status read_utf8(WireReader* r, std::string_view what, std::string_view* out) {
  if (!r->read_prefixed(out)) return malformed(std::string(what) + " runs past the packet");
  if (!is_valid_mqtt_utf8(*out)) return malformed(std::string(what) + " is not valid UTF-8");
  return Status::ok();
}

Status read_packet_id(WireReader* r, std::string_view what, uint16_t* out) {
  if (!r->read_u16(out)) return malformed(std::string(what) + " packet identifier missing");
  if (*out == 0) return protocol_error(std::string(what) + " packet identifier is 0");
  return Status::ok();
}

}  // namespace decode_detail

using decode_detail::decode_connect;
using decode_detail::decode_suback;
using decode_detail::decode_subscribe;
using decode_detail::decode_unsuback;
using decode_detail::decode_unsubscribe;
using decode_detail::expect_end;
using decode_detail::malformed;
using decode_detail::protocol_error;
using decode_detail::read_packet_id;
using decode_detail::read_utf8;

namespace {

// MQTT 3.1.1 §2.2.2 / MQTT 5 §2.1.3: reserved flag bits must hold their listed values
// (MQTT-2.2.2-1, MQTT-2.2.2-2, MQTT-2.1.3-1); anything else is malformed.
Status check_flags(const FrameHeader& header) {
  const uint8_t flags = header.flags();
  switch (header.type()) {
    case PacketType::kPublish: {
      const uint8_t qos = (flags >> 1) & 0x03;
      if (qos == 3) return malformed("PUBLISH with QoS 3");  // MQTT-3.3.1-4
      if ((flags & 0x08) != 0 && qos == 0) {
        return malformed("PUBLISH with DUP set at QoS 0");  // MQTT-3.3.1-2
      }
      return Status::ok();
    }
    case PacketType::kPubrel:       // MQTT-3.6.1-1
    case PacketType::kSubscribe:    // MQTT-3.8.1-1
    case PacketType::kUnsubscribe:  // MQTT-3.10.1-1
      if (flags != 0x02) return malformed("reserved fixed-header flags must be 0010");
      return Status::ok();
    default:
      if (flags != 0) return malformed("reserved fixed-header flags must be 0000");
      return Status::ok();
  }
}

Result<Packet> decode_publish(uint8_t flags, std::string_view body, ProtocolVersion version) {
  WireReader r(body);
  PublishPacket p;
  p.retain = (flags & 0x01) != 0;
  p.qos = (flags >> 1) & 0x03;
  p.dup = (flags & 0x08) != 0;
  TDB_RETURN_IF_ERROR(read_utf8(&r, "PUBLISH topic", &p.topic));
  if (p.qos > 0) TDB_RETURN_IF_ERROR(read_packet_id(&r, "PUBLISH", &p.packet_id));
  if (version == ProtocolVersion::kV5) {
    TDB_RETURN_IF_ERROR(decode_properties(&r, PropertyContext::kPublish, &p.properties));
  }
  if (p.topic.empty()) {
    // MQTT-4.7.3-1; MQTT 5 §3.3.2.1 lets a Topic Alias stand in for an empty topic.
    if (version == ProtocolVersion::kV311 || !p.properties.topic_alias) {
      return protocol_error("PUBLISH with an empty topic and no topic alias");
    }
  } else if (!is_valid_topic_name(p.topic)) {
    return protocol_error("PUBLISH topic contains a wildcard");  // MQTT-3.3.2-2
  }
  p.payload = r.take_rest();
  return Packet(std::move(p));
}

// PUBACK, PUBREC, PUBREL, PUBCOMP (MQTT 3.1.1 §3.4-3.7, MQTT 5 §3.4-3.7).
Result<Packet> decode_ack(PacketType type, std::string_view body, ProtocolVersion version) {
  WireReader r(body);
  AckPacket p;
  p.type = type;
  TDB_RETURN_IF_ERROR(read_packet_id(&r, "acknowledgement", &p.packet_id));
  // MQTT 5 §3.4.2.1: with remaining length 2 the reason code is 0x00 (success); with 3 there
  // are no properties.
  if (version == ProtocolVersion::kV5 && r.read_u8(&p.reason_code)) {
    if (!r.empty()) {
      TDB_RETURN_IF_ERROR(decode_properties(&r, PropertyContext::kPubAck, &p.properties));
    }
  }
  TDB_RETURN_IF_ERROR(expect_end(r, "acknowledgement"));
  return Packet(std::move(p));
}

Result<Packet> decode_connack(std::string_view body, ProtocolVersion version) {
  WireReader r(body);
  ConnackPacket p;
  uint8_t flags = 0;
  if (!r.read_u8(&flags) || !r.read_u8(&p.reason_code)) return malformed("CONNACK too short");
  // MQTT-3.2.2-1 (3.1.1) / MQTT 5 §3.2.2.1: bits 7-1 are reserved.
  if ((flags & 0xFE) != 0) return malformed("CONNACK reserved flags set");
  p.session_present = (flags & 0x01) != 0;
  if (version == ProtocolVersion::kV5) {
    TDB_RETURN_IF_ERROR(decode_properties(&r, PropertyContext::kConnack, &p.properties));
  }
  TDB_RETURN_IF_ERROR(expect_end(r, "CONNACK"));
  return Packet(std::move(p));
}

Result<Packet> decode_empty(Packet p, std::string_view body, std::string_view what) {
  if (!body.empty()) return malformed(std::string(what) + " must have no body");
  return p;
}

// DISCONNECT and AUTH under v5: an optional reason code, then optional properties
// (MQTT 5 §3.14.2.1, §3.15.2.1: remaining length 0 means reason 0x00 and no properties).
Status decode_reason_and_properties(std::string_view body, PropertyContext context,
                                    std::string_view what, uint8_t* reason, Properties* props) {
  WireReader r(body);
  if (!r.read_u8(reason)) return Status::ok();
  if (!r.empty()) TDB_RETURN_IF_ERROR(decode_properties(&r, context, props));
  return expect_end(r, what);
}

}  // namespace

Result<Packet> decode_packet(const FrameHeader& header, std::string_view body,
                             ProtocolVersion version) {
  if (body.size() != header.remaining_length) {
    return malformed("body size differs from the remaining length");
  }
  TDB_RETURN_IF_ERROR(check_flags(header));
  const bool v5 = version == ProtocolVersion::kV5;
  switch (header.type()) {
    case PacketType::kConnect:
      return decode_connect(body);
    case PacketType::kConnack:
      return decode_connack(body, version);
    case PacketType::kPublish:
      return decode_publish(header.flags(), body, version);
    case PacketType::kPuback:
    case PacketType::kPubrec:
    case PacketType::kPubrel:
    case PacketType::kPubcomp:
      return decode_ack(header.type(), body, version);
    case PacketType::kSubscribe:
      return decode_subscribe(body, version);
    case PacketType::kSuback:
      return decode_suback(body, version);
    case PacketType::kUnsubscribe:
      return decode_unsubscribe(body, version);
    case PacketType::kUnsuback:
      return decode_unsuback(body, version);
    case PacketType::kPingreq:
      return decode_empty(PingreqPacket{}, body, "PINGREQ");
    case PacketType::kPingresp:
      return decode_empty(PingrespPacket{}, body, "PINGRESP");
    case PacketType::kDisconnect: {
      if (!v5) return decode_empty(DisconnectPacket{}, body, "DISCONNECT");
      DisconnectPacket p;
      TDB_RETURN_IF_ERROR(decode_reason_and_properties(
          body, PropertyContext::kDisconnect, "DISCONNECT", &p.reason_code, &p.properties));
      return Packet(std::move(p));
    }
    case PacketType::kAuth: {
      // Type 15 is reserved in MQTT 3.1.1 (§2.2.1).
      if (!v5) return malformed("packet type 15 is reserved in MQTT 3.1.1");
      AuthPacket p;
      TDB_RETURN_IF_ERROR(decode_reason_and_properties(body, PropertyContext::kAuth, "AUTH",
                                                       &p.reason_code, &p.properties));
      return Packet(std::move(p));
    }
  }
  return malformed("packet type 0 is reserved");
}

}  // namespace topicdb::mqtt
