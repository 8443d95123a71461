// MQTT 5 properties (MQTT 5 §2.2.2). One optional field per property identifier; a packet
// decoded under 3.1.1 always carries an empty Properties.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace topicdb::mqtt {

// Property identifiers, MQTT 5 §2.2.2.2.
enum class PropertyId : uint8_t {
  kPayloadFormatIndicator = 0x01,
  kMessageExpiryInterval = 0x02,
  kContentType = 0x03,
  kResponseTopic = 0x08,
  kCorrelationData = 0x09,
  kSubscriptionIdentifier = 0x0B,
  kSessionExpiryInterval = 0x11,
  kAssignedClientIdentifier = 0x12,
  kServerKeepAlive = 0x13,
  kAuthenticationMethod = 0x15,
  kAuthenticationData = 0x16,
  kRequestProblemInformation = 0x17,
  kWillDelayInterval = 0x18,
  kRequestResponseInformation = 0x19,
  kResponseInformation = 0x1A,
  kServerReference = 0x1C,
  kReasonString = 0x1F,
  kReceiveMaximum = 0x21,
  kTopicAliasMaximum = 0x22,
  kTopicAlias = 0x23,
  kMaximumQos = 0x24,
  kRetainAvailable = 0x25,
  kUserProperty = 0x26,
  kMaximumPacketSize = 0x27,
  kWildcardSubscriptionAvailable = 0x28,
  kSubscriptionIdentifierAvailable = 0x29,
  kSharedSubscriptionAvailable = 0x2A,
};

struct Properties {
  std::optional<uint8_t> payload_format_indicator;
  std::optional<uint32_t> message_expiry_interval;
  std::optional<std::string> content_type;
  std::optional<std::string> response_topic;
  std::optional<std::string> correlation_data;  // binary data
  std::vector<uint32_t> subscription_identifiers;  // variable byte integers, 1..268435455
  std::optional<uint32_t> session_expiry_interval;
  std::optional<std::string> assigned_client_identifier;
  std::optional<uint16_t> server_keep_alive;
  std::optional<std::string> authentication_method;
  std::optional<std::string> authentication_data;  // binary data
  std::optional<uint8_t> request_problem_information;
  std::optional<uint32_t> will_delay_interval;
  std::optional<uint8_t> request_response_information;
  std::optional<std::string> response_information;
  std::optional<std::string> server_reference;
  std::optional<std::string> reason_string;
  std::optional<uint16_t> receive_maximum;
  std::optional<uint16_t> topic_alias_maximum;
  std::optional<uint16_t> topic_alias;
  std::optional<uint8_t> maximum_qos;
  std::optional<uint8_t> retain_available;
  std::vector<std::pair<std::string, std::string>> user_properties;  // order preserved
  std::optional<uint32_t> maximum_packet_size;
  std::optional<uint8_t> wildcard_subscription_available;
  std::optional<uint8_t> subscription_identifier_available;
  std::optional<uint8_t> shared_subscription_available;

  bool empty() const;
  bool operator==(const Properties&) const = default;
};

}  // namespace topicdb::mqtt
