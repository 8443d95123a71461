// MQTT 5 properties (MQTT 5 §2.2.2): Properties::empty(), and the decoder / encoder of
// property blocks with the per-packet rules of the §2.2.2.2 table.
#include "broker/codec/properties.h"

#include <string>
#include <string_view>

#include "broker/codec/property_codec.h"
#include "broker/topic_rules.h"

namespace topicdb::mqtt {

bool Properties::empty() const {
  return !payload_format_indicator && !message_expiry_interval && !content_type &&
         !response_topic && !correlation_data && subscription_identifiers.empty() &&
         !session_expiry_interval && !assigned_client_identifier && !server_keep_alive &&
         !authentication_method && !authentication_data && !request_problem_information &&
         !will_delay_interval && !request_response_information && !response_information &&
         !server_reference && !reason_string && !receive_maximum && !topic_alias_maximum &&
         !topic_alias && !maximum_qos && !retain_available && user_properties.empty() &&
         !maximum_packet_size && !wildcard_subscription_available &&
         !subscription_identifier_available && !shared_subscription_available;
}

namespace {

using Id = PropertyId;

constexpr uint64_t bit(Id id) { return uint64_t{1} << static_cast<uint8_t>(id); }

template <typename... Ids>
constexpr uint64_t mask(Ids... ids) {
  return (bit(ids) | ...);
}

constexpr uint64_t kKnown =
    mask(Id::kPayloadFormatIndicator, Id::kMessageExpiryInterval, Id::kContentType,
         Id::kResponseTopic, Id::kCorrelationData, Id::kSubscriptionIdentifier,
         Id::kSessionExpiryInterval, Id::kAssignedClientIdentifier, Id::kServerKeepAlive,
         Id::kAuthenticationMethod, Id::kAuthenticationData, Id::kRequestProblemInformation,
         Id::kWillDelayInterval, Id::kRequestResponseInformation, Id::kResponseInformation,
         Id::kServerReference, Id::kReasonString, Id::kReceiveMaximum, Id::kTopicAliasMaximum,
         Id::kTopicAlias, Id::kMaximumQos, Id::kRetainAvailable, Id::kUserProperty,
         Id::kMaximumPacketSize, Id::kWildcardSubscriptionAvailable,
         Id::kSubscriptionIdentifierAvailable, Id::kSharedSubscriptionAvailable);

// The "Used in" column of MQTT 5 §2.2.2.2, per packet.
constexpr uint64_t allowed_mask(PropertyContext context) {
  switch (context) {
    case PropertyContext::kConnect:
      return mask(Id::kSessionExpiryInterval, Id::kAuthenticationMethod, Id::kAuthenticationData,
                  Id::kRequestProblemInformation, Id::kRequestResponseInformation,
                  Id::kReceiveMaximum, Id::kTopicAliasMaximum, Id::kUserProperty,
                  Id::kMaximumPacketSize);
    case PropertyContext::kWill:
      return mask(Id::kPayloadFormatIndicator, Id::kMessageExpiryInterval, Id::kContentType,
                  Id::kResponseTopic, Id::kCorrelationData, Id::kWillDelayInterval,
                  Id::kUserProperty);
    case PropertyContext::kConnack:
      return mask(Id::kSessionExpiryInterval, Id::kAssignedClientIdentifier, Id::kServerKeepAlive,
                  Id::kAuthenticationMethod, Id::kAuthenticationData, Id::kResponseInformation,
                  Id::kServerReference, Id::kReasonString, Id::kReceiveMaximum,
                  Id::kTopicAliasMaximum, Id::kMaximumQos, Id::kRetainAvailable, Id::kUserProperty,
                  Id::kMaximumPacketSize, Id::kWildcardSubscriptionAvailable,
                  Id::kSubscriptionIdentifierAvailable, Id::kSharedSubscriptionAvailable);
    case PropertyContext::kPublish:
      return mask(Id::kPayloadFormatIndicator, Id::kMessageExpiryInterval, Id::kContentType,
                  Id::kResponseTopic, Id::kCorrelationData, Id::kSubscriptionIdentifier,
                  Id::kTopicAlias, Id::kUserProperty);
    case PropertyContext::kPubAck:
    case PropertyContext::kSuback:
    case PropertyContext::kUnsuback:
      return mask(Id::kReasonString, Id::kUserProperty);
    case PropertyContext::kSubscribe:
      return mask(Id::kSubscriptionIdentifier, Id::kUserProperty);
    case PropertyContext::kUnsubscribe:
      return mask(Id::kUserProperty);
    case PropertyContext::kDisconnect:
      return mask(Id::kSessionExpiryInterval, Id::kServerReference, Id::kReasonString,
                  Id::kUserProperty);
    case PropertyContext::kAuth:
      return mask(Id::kAuthenticationMethod, Id::kAuthenticationData, Id::kReasonString,
                  Id::kUserProperty);
  }
  return 0;
}

std::string id_text(Id id) {
  static constexpr char kHex[] = "0123456789abcdef";
  const auto v = static_cast<uint8_t>(id);
  return std::string("property 0x") + kHex[v >> 4] + kHex[v & 0x0F];
}

Status truncated(Id id) { return Status::invalid_argument(id_text(id) + " runs past its block"); }
Status duplicate(Id id) { return Status::protocol_error(id_text(id) + " appears twice"); }
Status bad_value(Id id) { return Status::protocol_error(id_text(id) + " has an invalid value"); }

// Readers for the property value types. Each rejects a second occurrence.
Status read_byte(WireReader* r, Id id, std::optional<uint8_t>* field) {
  uint8_t v = 0;
  if (!r->read_u8(&v)) return truncated(id);
  if (field->has_value()) return duplicate(id);
  *field = v;
  return Status::ok();
}

// A byte that may only be 0 or 1 (payload format indicator, request problem / response
// information, maximum QoS, retain available and the *_available flags).
Status read_flag(WireReader* r, Id id, std::optional<uint8_t>* field) {
  TDB_RETURN_IF_ERROR(read_byte(r, id, field));
  return **field <= 1 ? Status::ok() : bad_value(id);
}

Status read_two(WireReader* r, Id id, std::optional<uint16_t>* field) {
  uint16_t v = 0;
  if (!r->read_u16(&v)) return truncated(id);
  if (field->has_value()) return duplicate(id);
  *field = v;
  return Status::ok();
}

// A two-byte value that must not be 0 (receive maximum, topic alias).
Status read_nonzero_two(WireReader* r, Id id, std::optional<uint16_t>* field) {
  TDB_RETURN_IF_ERROR(read_two(r, id, field));
  return **field != 0 ? Status::ok() : bad_value(id);
}

Status read_four(WireReader* r, Id id, std::optional<uint32_t>* field) {
  uint32_t v = 0;
  if (!r->read_u32(&v)) return truncated(id);
  if (field->has_value()) return duplicate(id);
  *field = v;
  return Status::ok();
}

Status read_utf8(WireReader* r, Id id, std::string_view* out) {
  if (!r->read_prefixed(out)) return truncated(id);
  // MQTT-1.5.4-1 / MQTT-1.5.4-2: ill-formed UTF-8 or U+0000 is a malformed packet.
  if (!is_valid_mqtt_utf8(*out)) return Status::invalid_argument(id_text(id) + ": bad UTF-8");
  return Status::ok();
}

Status read_string(WireReader* r, Id id, std::optional<std::string>* field) {
  std::string_view s;
  TDB_RETURN_IF_ERROR(read_utf8(r, id, &s));
  if (field->has_value()) return duplicate(id);
  field->emplace(s);
  return Status::ok();
}

Status read_binary(WireReader* r, Id id, std::optional<std::string>* field) {
  std::string_view s;
  if (!r->read_prefixed(&s)) return truncated(id);
  if (field->has_value()) return duplicate(id);
  field->emplace(s);
  return Status::ok();
}

Status read_one(WireReader* r, Id id, PropertyContext context, Properties* p) {
  switch (id) {
    case Id::kPayloadFormatIndicator:
      return read_flag(r, id, &p->payload_format_indicator);
    case Id::kMessageExpiryInterval:
      return read_four(r, id, &p->message_expiry_interval);
    case Id::kContentType:
      return read_string(r, id, &p->content_type);
    case Id::kResponseTopic:
      TDB_RETURN_IF_ERROR(read_string(r, id, &p->response_topic));
      // MQTT-3.3.2-14: a response topic is a topic name, without wildcards.
      return is_valid_topic_name(*p->response_topic) ? Status::ok() : bad_value(id);
    case Id::kCorrelationData:
      return read_binary(r, id, &p->correlation_data);
    case Id::kSubscriptionIdentifier: {
      uint32_t v = 0;
      if (!r->read_varint(&v)) return Status::invalid_argument(id_text(id) + ": bad integer");
      // Only PUBLISH may carry several (one per matching subscription).
      if (context != PropertyContext::kPublish && !p->subscription_identifiers.empty()) {
        return duplicate(id);
      }
      if (v == 0) return bad_value(id);  // MQTT 5 §3.3.2.3.8: 0 is a protocol error.
      p->subscription_identifiers.push_back(v);
      return Status::ok();
    }
    case Id::kSessionExpiryInterval:
      return read_four(r, id, &p->session_expiry_interval);
    case Id::kAssignedClientIdentifier:
      return read_string(r, id, &p->assigned_client_identifier);
    case Id::kServerKeepAlive:
      return read_two(r, id, &p->server_keep_alive);
    case Id::kAuthenticationMethod:
      return read_string(r, id, &p->authentication_method);
    case Id::kAuthenticationData:
      return read_binary(r, id, &p->authentication_data);
    case Id::kRequestProblemInformation:
      return read_flag(r, id, &p->request_problem_information);
    case Id::kWillDelayInterval:
      return read_four(r, id, &p->will_delay_interval);
    case Id::kRequestResponseInformation:
      return read_flag(r, id, &p->request_response_information);
    case Id::kResponseInformation:
      return read_string(r, id, &p->response_information);
    case Id::kServerReference:
      return read_string(r, id, &p->server_reference);
    case Id::kReasonString:
      return read_string(r, id, &p->reason_string);
    case Id::kReceiveMaximum:
      return read_nonzero_two(r, id, &p->receive_maximum);  // MQTT 5 §3.1.2.11.3
    case Id::kTopicAliasMaximum:
      return read_two(r, id, &p->topic_alias_maximum);
    case Id::kTopicAlias:
      return read_nonzero_two(r, id, &p->topic_alias);  // MQTT 5 §3.3.2.3.4
    case Id::kMaximumQos:
      return read_flag(r, id, &p->maximum_qos);
    case Id::kRetainAvailable:
      return read_flag(r, id, &p->retain_available);
    case Id::kUserProperty: {
      std::string_view key;
      std::string_view value;
      TDB_RETURN_IF_ERROR(read_utf8(r, id, &key));
      TDB_RETURN_IF_ERROR(read_utf8(r, id, &value));
      p->user_properties.emplace_back(key, value);
      return Status::ok();
    }
    case Id::kMaximumPacketSize:
      TDB_RETURN_IF_ERROR(read_four(r, id, &p->maximum_packet_size));
      return *p->maximum_packet_size != 0 ? Status::ok() : bad_value(id);  // §3.1.2.11.4
    case Id::kWildcardSubscriptionAvailable:
      return read_flag(r, id, &p->wildcard_subscription_available);
    case Id::kSubscriptionIdentifierAvailable:
      return read_flag(r, id, &p->subscription_identifier_available);
    case Id::kSharedSubscriptionAvailable:
      return read_flag(r, id, &p->shared_subscription_available);
  }
  return Status::invalid_argument(id_text(id) + " is unknown");  // unreachable: kKnown
}

// Writes the property block through a sink, so that the size computation and the encoding
// cannot disagree. Every identifier is below 128, so its variable byte integer is one byte.
template <typename Sink>
void emit_properties(const Properties& p, Sink& s) {
  auto id = [&s](Id i) { s.u8(static_cast<uint8_t>(i)); };
  auto byte = [&](Id i, const std::optional<uint8_t>& v) {
    if (v) {
      id(i);
      s.u8(*v);
    }
  };
  auto two = [&](Id i, const std::optional<uint16_t>& v) {
    if (v) {
      id(i);
      s.u16(*v);
    }
  };
  auto four = [&](Id i, const std::optional<uint32_t>& v) {
    if (v) {
      id(i);
      s.u32(*v);
    }
  };
  auto str = [&](Id i, const std::optional<std::string>& v) {
    if (v) {
      id(i);
      s.prefixed(*v);
    }
  };
  byte(Id::kPayloadFormatIndicator, p.payload_format_indicator);
  four(Id::kMessageExpiryInterval, p.message_expiry_interval);
  str(Id::kContentType, p.content_type);
  str(Id::kResponseTopic, p.response_topic);
  str(Id::kCorrelationData, p.correlation_data);
  for (uint32_t sub_id : p.subscription_identifiers) {
    id(Id::kSubscriptionIdentifier);
    s.varint(sub_id);
  }
  four(Id::kSessionExpiryInterval, p.session_expiry_interval);
  str(Id::kAssignedClientIdentifier, p.assigned_client_identifier);
  two(Id::kServerKeepAlive, p.server_keep_alive);
  str(Id::kAuthenticationMethod, p.authentication_method);
  str(Id::kAuthenticationData, p.authentication_data);
  byte(Id::kRequestProblemInformation, p.request_problem_information);
  four(Id::kWillDelayInterval, p.will_delay_interval);
  byte(Id::kRequestResponseInformation, p.request_response_information);
  str(Id::kResponseInformation, p.response_information);
  str(Id::kServerReference, p.server_reference);
  str(Id::kReasonString, p.reason_string);
  two(Id::kReceiveMaximum, p.receive_maximum);
  two(Id::kTopicAliasMaximum, p.topic_alias_maximum);
  two(Id::kTopicAlias, p.topic_alias);
  byte(Id::kMaximumQos, p.maximum_qos);
  byte(Id::kRetainAvailable, p.retain_available);
  for (const auto& [key, value] : p.user_properties) {
    id(Id::kUserProperty);
    s.prefixed(key);
    s.prefixed(value);
  }
  four(Id::kMaximumPacketSize, p.maximum_packet_size);
  byte(Id::kWildcardSubscriptionAvailable, p.wildcard_subscription_available);
  byte(Id::kSubscriptionIdentifierAvailable, p.subscription_identifier_available);
  byte(Id::kSharedSubscriptionAvailable, p.shared_subscription_available);
}

struct SizeSink {
  size_t size = 0;
  void u8(uint8_t) { size += 1; }
  void u16(uint16_t) { size += 2; }
  void u32(uint32_t) { size += 4; }
  void varint(uint32_t v) { size += varint_size(v); }
  void prefixed(std::string_view v) { size += 2 + v.size(); }
};

struct AppendSink {
  std::string* out;
  void u8(uint8_t v) { put_u8(v, out); }
  void u16(uint16_t v) { put_u16(v, out); }
  void u32(uint32_t v) { put_u32(v, out); }
  void varint(uint32_t v) { put_varint(v, out); }
  void prefixed(std::string_view v) { put_prefixed(v, out); }
};

size_t content_size(const Properties& p) {
  SizeSink sink;
  emit_properties(p, sink);
  return sink.size;
}

}  // namespace

Status decode_properties(WireReader* r, PropertyContext context, Properties* out) {
  uint32_t length = 0;
  if (!r->read_varint(&length)) return Status::invalid_argument("bad property length");
  std::string_view block;
  if (!r->read_bytes(length, &block)) {
    return Status::invalid_argument("property length exceeds the packet");
  }
  WireReader pr(block);
  const uint64_t allowed = allowed_mask(context);
  while (!pr.empty()) {
    uint32_t raw = 0;
    if (!pr.read_varint(&raw)) return Status::invalid_argument("bad property identifier");
    const uint64_t b = raw < 64 ? uint64_t{1} << raw : 0;
    // MQTT 5 §2.2.2.2: an identifier outside the table is a malformed packet...
    if ((kKnown & b) == 0) {
      return Status::invalid_argument("unknown property identifier " + std::to_string(raw));
    }
    const Id id = static_cast<Id>(raw);
    // ...and so is one that is not valid for this packet type (same section: "an Identifier
    // which is not valid for its packet type ... is a Malformed Packet").
    if ((allowed & b) == 0) return Status::invalid_argument(id_text(id) + " not allowed here");
    TDB_RETURN_IF_ERROR(read_one(&pr, id, context, out));
  }
  // MQTT 5 §3.1.2.11.10, §3.2.2.3.18, §3.15.2.2.3: data without a method is a protocol error.
  if (out->authentication_data && !out->authentication_method) {
    return Status::protocol_error("authentication data without authentication method");
  }
  return Status::ok();
}

size_t properties_wire_size(const Properties& p) {
  const size_t n = content_size(p);
  return varint_size(static_cast<uint32_t>(n)) + n;
}

void encode_properties(const Properties& p, std::string* out) {
  const size_t n = content_size(p);
  put_varint(static_cast<uint32_t>(n), out);
  AppendSink sink{out};
  emit_properties(p, sink);
}

}  // namespace topicdb::mqtt
