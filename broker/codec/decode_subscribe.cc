// SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK (MQTT 3.1.1 §3.8-3.11, MQTT 5 §3.8-3.11).
#include <string>
#include <utility>
#include <vector>

#include "broker/codec/decode_internal.h"
#include "broker/codec/property_codec.h"
#include "broker/topic_rules.h"

namespace topicdb::mqtt::decode_detail {

namespace {

constexpr std::string_view kSharePrefix = "$share/";

// A topic filter: UTF-8 problems are malformed, wildcard misuse or an empty filter a
// protocol error (MQTT-4.7.1-2, MQTT-4.7.1-3, MQTT-4.7.3-1).
Status read_filter(WireReader* r, std::string_view* filter) {
  TDB_RETURN_IF_ERROR(read_utf8(r, "topic filter", filter));
  if (!is_valid_topic_filter(*filter)) {
    return protocol_error("invalid topic filter '" + std::string(*filter) + "'");
  }
  return Status::ok();
}

// The subscription options byte (MQTT 3.1.1 §3.8.3.1 "Requested QoS", MQTT 5 §3.8.3.1).
Status parse_options(uint8_t options, ProtocolVersion version, std::string_view filter,
                     SubscriptionRequest* sub) {
  sub->qos = options & 0x03;
  if (version == ProtocolVersion::kV311) {
    // MQTT-3-8.3-4 (sic): reserved upper six bits non-zero, or QoS 3, is malformed.
    if ((options & 0xFC) != 0) return malformed("SUBSCRIBE reserved option bits set");
    if (sub->qos == 3) return malformed("SUBSCRIBE requested QoS 3");
    return Status::ok();
  }
  if ((options & 0xC0) != 0) return malformed("SUBSCRIBE reserved option bits set");  // 3.8.3-5
  // MQTT 5 §3.8.3.1 calls a maximum QoS of 3 and a retain handling of 3 protocol errors.
  if (sub->qos == 3) return protocol_error("SUBSCRIBE maximum QoS 3");
  sub->no_local = (options & 0x04) != 0;
  sub->retain_as_published = (options & 0x08) != 0;
  sub->retain_handling = (options >> 4) & 0x03;
  if (sub->retain_handling == 3) return protocol_error("SUBSCRIBE retain handling 3");
  // MQTT-3.8.3-4: No Local on a shared subscription is a protocol error.
  if (sub->no_local && filter.starts_with(kSharePrefix)) {
    return protocol_error("SUBSCRIBE no local on a shared subscription");
  }
  return Status::ok();
}

// The reason-code list that ends SUBACK and the v5 UNSUBACK: one byte per filter, at least
// one filter.
Status read_reason_codes(WireReader* r, std::string_view what, std::vector<uint8_t>* codes) {
  std::string_view rest = r->take_rest();
  if (rest.empty()) return protocol_error(std::string(what) + " has no reason codes");
  codes->assign(rest.begin(), rest.end());
  return Status::ok();
}

}  // namespace

Result<Packet> decode_subscribe(std::string_view body, ProtocolVersion version) {
  WireReader r(body);
  SubscribePacket p;
  TDB_RETURN_IF_ERROR(read_packet_id(&r, "SUBSCRIBE", &p.packet_id));
  if (version == ProtocolVersion::kV5) {
    TDB_RETURN_IF_ERROR(decode_properties(&r, PropertyContext::kSubscribe, &p.properties));
  }
  // MQTT-3.8.3-3: at least one topic filter / option pair.
  if (r.empty()) return protocol_error("SUBSCRIBE without topic filters");
  while (!r.empty()) {
    std::string_view filter;
    TDB_RETURN_IF_ERROR(read_filter(&r, &filter));
    uint8_t options = 0;
    if (!r.read_u8(&options)) return malformed("SUBSCRIBE options byte missing");
    SubscriptionRequest& sub = p.subscriptions.emplace_back();
    TDB_RETURN_IF_ERROR(parse_options(options, version, filter, &sub));
    sub.filter.assign(filter);
  }
  return Packet(std::move(p));
}

Result<Packet> decode_suback(std::string_view body, ProtocolVersion version) {
  WireReader r(body);
  SubackPacket p;
  TDB_RETURN_IF_ERROR(read_packet_id(&r, "SUBACK", &p.packet_id));
  if (version == ProtocolVersion::kV5) {
    TDB_RETURN_IF_ERROR(decode_properties(&r, PropertyContext::kSuback, &p.properties));
  }
  TDB_RETURN_IF_ERROR(read_reason_codes(&r, "SUBACK", &p.reason_codes));
  if (version == ProtocolVersion::kV311) {
    for (uint8_t code : p.reason_codes) {
      // MQTT-3.9.3-2: only 0x00, 0x01, 0x02 and 0x80 exist in 3.1.1.
      if (code > 2 && code != 0x80) return malformed("SUBACK reserved return code");
    }
  }
  return Packet(std::move(p));
}

Result<Packet> decode_unsubscribe(std::string_view body, ProtocolVersion version) {
  WireReader r(body);
  UnsubscribePacket p;
  TDB_RETURN_IF_ERROR(read_packet_id(&r, "UNSUBSCRIBE", &p.packet_id));
  if (version == ProtocolVersion::kV5) {
    TDB_RETURN_IF_ERROR(decode_properties(&r, PropertyContext::kUnsubscribe, &p.properties));
  }
  // MQTT-3.10.3-2: at least one topic filter.
  if (r.empty()) return protocol_error("UNSUBSCRIBE without topic filters");
  while (!r.empty()) {
    std::string_view filter;
    TDB_RETURN_IF_ERROR(read_filter(&r, &filter));
    p.filters.emplace_back(filter);
  }
  return Packet(std::move(p));
}

Result<Packet> decode_unsuback(std::string_view body, ProtocolVersion version) {
  WireReader r(body);
  UnsubackPacket p;
  TDB_RETURN_IF_ERROR(read_packet_id(&r, "UNSUBACK", &p.packet_id));
  if (version == ProtocolVersion::kV311) {
    TDB_RETURN_IF_ERROR(expect_end(r, "UNSUBACK"));  // 3.1.1 §3.11: no payload
    return Packet(std::move(p));
  }
  TDB_RETURN_IF_ERROR(decode_properties(&r, PropertyContext::kUnsuback, &p.properties));
  TDB_RETURN_IF_ERROR(read_reason_codes(&r, "UNSUBACK", &p.reason_codes));
  return Packet(std::move(p));
}

}  // namespace topicdb::mqtt::decode_detail
