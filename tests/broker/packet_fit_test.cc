// encode_within_limit: what may be left out to fit a client's Maximum Packet Size, and what
// may not (MQTT-3.1.2-24).
#include "broker/packet_fit.h"

#include <gtest/gtest.h>

#include <string>

namespace topicdb::broker {
namespace {

constexpr mqtt::ProtocolVersion kV5 = mqtt::ProtocolVersion::kV5;

mqtt::ConnackPacket full_connack() {
  mqtt::ConnackPacket ack;
  mqtt::Properties& p = ack.properties;
  p.receive_maximum = 1024;
  p.maximum_packet_size = 1 << 20;
  p.topic_alias_maximum = 64;
  p.retain_available = 1;
  p.wildcard_subscription_available = 1;
  p.subscription_identifier_available = 1;
  p.shared_subscription_available = 1;
  p.response_information = "$response/some-client";
  return ack;
}

size_t size_of(const mqtt::ConnackPacket& ack) {
  std::string out;
  mqtt::encode(ack, kV5, &out);
  return out.size();
}

TEST(PacketFitTest, NoLimitOrRoomEncodesEverything) {
  mqtt::ConnackPacket ack = full_connack();
  const size_t full = size_of(ack);
  std::string out = "x";
  ASSERT_TRUE(encode_within_limit(ack, kV5, 0, &out));
  EXPECT_EQ(out.size(), 1 + full) << "appends";
  out.clear();
  ASSERT_TRUE(encode_within_limit(ack, kV5, static_cast<uint32_t>(full), &out));
  EXPECT_EQ(out.size(), full);
  EXPECT_EQ(ack.properties, full_connack().properties);
}

// Only the flags, Topic Alias Maximum and Response Information go; limits the client must
// know (Receive Maximum, Maximum Packet Size) stay.
TEST(PacketFitTest, ConnackLosesOnlyPropertiesWhoseAbsenceIsNoLooser) {
  mqtt::ConnackPacket ack = full_connack();
  std::string out;
  ASSERT_TRUE(encode_within_limit(ack, kV5, 20, &out));
  EXPECT_LE(out.size(), 20u);
  EXPECT_EQ(ack.properties.receive_maximum, std::optional<uint16_t>(1024));
  EXPECT_EQ(ack.properties.maximum_packet_size, std::optional<uint32_t>(1 << 20));
  EXPECT_FALSE(ack.properties.retain_available);
  EXPECT_FALSE(ack.properties.shared_subscription_available);
  EXPECT_FALSE(ack.properties.topic_alias_maximum);
  EXPECT_FALSE(ack.properties.response_information);
}

TEST(PacketFitTest, DroppingStopsAsSoonAsItFits) {
  mqtt::ConnackPacket ack = full_connack();
  const size_t full = size_of(ack);
  std::string out;
  // Each flag costs 2 bytes: one byte less than everything drops exactly the first flag.
  ASSERT_TRUE(encode_within_limit(ack, kV5, static_cast<uint32_t>(full - 1), &out));
  EXPECT_EQ(out.size(), full - 2);
  EXPECT_FALSE(ack.properties.retain_available);
  EXPECT_TRUE(ack.properties.wildcard_subscription_available);
  EXPECT_TRUE(ack.properties.response_information);
}

TEST(PacketFitTest, AZeroFlagIsNotDropped) {
  mqtt::ConnackPacket ack;
  ack.properties.retain_available = 0;  // absence would mean "available": a looser meaning
  std::string out;
  EXPECT_FALSE(encode_within_limit(ack, kV5, 5, &out));
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(ack.properties.retain_available, std::optional<uint8_t>(0));
}

TEST(PacketFitTest, TooSmallForTheMinimumFailsAndWritesNothing) {
  mqtt::ConnackPacket ack = full_connack();
  std::string out;
  EXPECT_FALSE(encode_within_limit(ack, kV5, 2, &out));
  EXPECT_TRUE(out.empty());
}

TEST(PacketFitTest, ReasonStringAndUserPropertiesGoFirst) {
  mqtt::DisconnectPacket d;
  d.reason_code = mqtt::reason::kReceiveMaximumExceeded;
  d.properties.reason_string = "too many QoS 2 publishes in flight";
  d.properties.user_properties = {{"k", "v"}};
  std::string out;
  ASSERT_TRUE(encode_within_limit(d, kV5, 10, &out));  // 11 with the user property
  EXPECT_EQ(out.size(), 3u);  // header and reason code (an empty property length is omitted)
  EXPECT_FALSE(d.properties.reason_string);
  EXPECT_TRUE(d.properties.user_properties.empty());
  EXPECT_FALSE(encode_within_limit(d, kV5, 2, &out)) << "a reason code needs 3 bytes at least";
}

TEST(PacketFitTest, ConnackOnlyPropertiesStayInOtherPackets) {
  mqtt::AuthPacket auth;
  auth.reason_code = mqtt::reason::kContinueAuthentication;
  auth.properties.authentication_method = "SCRAM-SHA-256";
  std::string out;
  EXPECT_FALSE(encode_within_limit(auth, kV5, 10, &out)) << "the method is required";
  EXPECT_TRUE(auth.properties.authentication_method);
  EXPECT_TRUE(encode_within_limit(auth, kV5, 64, &out));
}

}  // namespace
}  // namespace topicdb::broker
