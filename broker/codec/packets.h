// MQTT control packets as plain structs, shared by the decoder, the encoder and the broker.
// One struct per packet type (MQTT 3.1.1 §3, MQTT 5 §3); v5-only fields stay at their
// defaults under 3.1.1.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "broker/codec/properties.h"

namespace topicdb::mqtt {

enum class PacketType : uint8_t {
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
  kAuth = 15,
};

// The protocol level byte of CONNECT.
enum class ProtocolVersion : uint8_t { kV311 = 4, kV5 = 5 };

// MQTT 3.1 (protocol name "MQIsdp", level 3) is not a ProtocolVersion: every packet after
// CONNECT has the 3.1.1 layout, so it decodes as kV311 and only ConnectPacket::protocol_level
// (and Session::mqtt31) remember it, for the few places where 3.1 differs (client id rules,
// CONNACK without session present, SUBACK without 0x80). A third enum value would have to be
// taught to every `version == kV311` comparison in the broker.
constexpr uint8_t kMqtt31ProtocolLevel = 3;

struct Will {
  std::string topic;
  std::string payload;
  uint8_t qos = 0;
  bool retain = false;
  Properties properties;  // v5 will properties
};

struct ConnectPacket {
  ProtocolVersion version = ProtocolVersion::kV311;
  uint8_t protocol_level = 4;  // as sent: kMqtt31ProtocolLevel for MQTT 3.1, else `version`
  bool clean_start = true;     // "clean session" in 3.1.1
  uint16_t keep_alive = 0;     // seconds
  std::string client_id;
  std::optional<Will> will;
  std::optional<std::string> username;
  std::optional<std::string> password;  // binary data
  Properties properties;
};

struct ConnackPacket {
  bool session_present = false;
  uint8_t reason_code = 0;  // 3.1.1 return code or v5 reason code
  Properties properties;
};

// A decoded PUBLISH borrows topic and payload from the read buffer: they stay valid only
// until the connection reads again. The broker copies what it keeps.
struct PublishPacket {
  std::string_view topic;
  std::string_view payload;
  uint8_t qos = 0;
  bool retain = false;
  bool dup = false;
  uint16_t packet_id = 0;  // present only when qos > 0
  Properties properties;
};

// PUBACK, PUBREC, PUBREL, PUBCOMP share one layout.
struct AckPacket {
  PacketType type = PacketType::kPuback;
  uint16_t packet_id = 0;
  uint8_t reason_code = 0;  // v5 only; 0 = success
  Properties properties;
};

struct SubscriptionRequest {
  std::string filter;
  uint8_t qos = 0;
  bool no_local = false;             // v5
  bool retain_as_published = false;  // v5
  uint8_t retain_handling = 0;       // v5: 0, 1 or 2
};

struct SubscribePacket {
  uint16_t packet_id = 0;
  std::vector<SubscriptionRequest> subscriptions;  // at least one
  Properties properties;
};

struct SubackPacket {
  uint16_t packet_id = 0;
  std::vector<uint8_t> reason_codes;  // one per requested filter
  Properties properties;
};

struct UnsubscribePacket {
  uint16_t packet_id = 0;
  std::vector<std::string> filters;  // at least one
  Properties properties;
};

struct UnsubackPacket {
  uint16_t packet_id = 0;
  std::vector<uint8_t> reason_codes;  // v5 only; empty under 3.1.1
  Properties properties;
};

struct PingreqPacket {};
struct PingrespPacket {};

struct DisconnectPacket {
  uint8_t reason_code = 0;  // v5 only
  Properties properties;
};

struct AuthPacket {
  uint8_t reason_code = 0;
  Properties properties;
};

using Packet = std::variant<ConnectPacket, ConnackPacket, PublishPacket, AckPacket,
                            SubscribePacket, SubackPacket, UnsubscribePacket, UnsubackPacket,
                            PingreqPacket, PingrespPacket, DisconnectPacket, AuthPacket>;

// 3.1.1 CONNACK return codes (MQTT 3.1.1 §3.2.2.3).
namespace connack_v311 {
constexpr uint8_t kAccepted = 0;
constexpr uint8_t kUnacceptableProtocolVersion = 1;
constexpr uint8_t kIdentifierRejected = 2;
constexpr uint8_t kServerUnavailable = 3;
constexpr uint8_t kBadUsernameOrPassword = 4;
constexpr uint8_t kNotAuthorized = 5;
}  // namespace connack_v311

// MQTT 5 reason codes (MQTT 5 §2.4); SUBACK under 3.1.1 uses 0x00-0x02 and 0x80 too.
namespace reason {
constexpr uint8_t kSuccess = 0x00;
constexpr uint8_t kGrantedQos0 = 0x00;
constexpr uint8_t kGrantedQos1 = 0x01;
constexpr uint8_t kGrantedQos2 = 0x02;
constexpr uint8_t kDisconnectWithWill = 0x04;
constexpr uint8_t kNoMatchingSubscribers = 0x10;
constexpr uint8_t kNoSubscriptionExisted = 0x11;
constexpr uint8_t kContinueAuthentication = 0x18;
constexpr uint8_t kReauthenticate = 0x19;
constexpr uint8_t kUnspecifiedError = 0x80;
constexpr uint8_t kMalformedPacket = 0x81;
constexpr uint8_t kProtocolError = 0x82;
constexpr uint8_t kImplementationSpecificError = 0x83;
constexpr uint8_t kUnsupportedProtocolVersion = 0x84;
constexpr uint8_t kClientIdentifierNotValid = 0x85;
constexpr uint8_t kBadUserNameOrPassword = 0x86;
constexpr uint8_t kNotAuthorized = 0x87;
constexpr uint8_t kServerUnavailable = 0x88;
constexpr uint8_t kServerBusy = 0x89;
constexpr uint8_t kBanned = 0x8A;
constexpr uint8_t kServerShuttingDown = 0x8B;
constexpr uint8_t kBadAuthenticationMethod = 0x8C;
constexpr uint8_t kKeepAliveTimeout = 0x8D;
constexpr uint8_t kSessionTakenOver = 0x8E;
constexpr uint8_t kTopicFilterInvalid = 0x8F;
constexpr uint8_t kTopicNameInvalid = 0x90;
constexpr uint8_t kPacketIdentifierInUse = 0x91;
constexpr uint8_t kPacketIdentifierNotFound = 0x92;
constexpr uint8_t kReceiveMaximumExceeded = 0x93;
constexpr uint8_t kTopicAliasInvalid = 0x94;
constexpr uint8_t kPacketTooLarge = 0x95;
constexpr uint8_t kMessageRateTooHigh = 0x96;
constexpr uint8_t kQuotaExceeded = 0x97;
constexpr uint8_t kAdministrativeAction = 0x98;
constexpr uint8_t kPayloadFormatInvalid = 0x99;
constexpr uint8_t kRetainNotSupported = 0x9A;
constexpr uint8_t kQosNotSupported = 0x9B;
constexpr uint8_t kUseAnotherServer = 0x9C;
constexpr uint8_t kServerMoved = 0x9D;
constexpr uint8_t kSharedSubscriptionsNotSupported = 0x9E;
constexpr uint8_t kConnectionRateExceeded = 0x9F;
constexpr uint8_t kMaximumConnectTime = 0xA0;
constexpr uint8_t kSubscriptionIdentifiersNotSupported = 0xA1;
constexpr uint8_t kWildcardSubscriptionsNotSupported = 0xA2;
}  // namespace reason

}  // namespace topicdb::mqtt
