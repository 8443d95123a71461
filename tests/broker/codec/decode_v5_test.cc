// Decoding MQTT 5 packets built byte by byte, and the v5-specific malformed /
// protocol-error rules. Property rules have their own file (properties_test.cc).
#include <gtest/gtest.h>

#include <string>

#include "broker/codec/codec.h"
#include "tests/broker/codec/codec_test_util.h"

namespace topicdb::mqtt {
namespace {

using codec_test::Bytes;
using codec_test::decode_code;
using codec_test::decode_wire;
using codec_test::frame;
using Code = Status::Code;

using codec_test::kV5;

const Bytes kNoProps = Bytes();

Bytes connect_head(uint8_t flags) {
  Bytes b;
  b.str("MQTT").u8(5).u8(flags).u16(30);
  return b;
}

// ---- CONNECT ------------------------------------------------------------------------------

TEST(DecodeV5Test, ConnectWithPropertiesAndWill) {
  const std::string wire =
      frame(0x10, connect_head(0x80 | 0x40 | 0x08 | 0x04 | 0x02)
                      .props(Bytes().u8(0x11).u32(3600).u8(0x21).u16(20).u8(0x26).str("k").str("v"))
                      .str("dev")
                      .props(Bytes().u8(0x18).u32(5).u8(0x01).u8(1))
                      .str("dev/status")
                      .str("offline")
                      .str("bob")
                      .str("secret"));
  Result<Packet> r = decode_wire(wire, ProtocolVersion::kV311);  // CONNECT carries its own
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  const auto& c = std::get<ConnectPacket>(*r);
  EXPECT_EQ(c.version, kV5);
  EXPECT_TRUE(c.clean_start);
  EXPECT_EQ(c.keep_alive, 30);
  EXPECT_EQ(c.client_id, "dev");
  EXPECT_EQ(c.properties.session_expiry_interval, 3600u);
  EXPECT_EQ(c.properties.receive_maximum, 20);
  ASSERT_EQ(c.properties.user_properties.size(), 1u);
  EXPECT_EQ(c.properties.user_properties[0].first, "k");
  ASSERT_TRUE(c.will);
  EXPECT_EQ(c.will->qos, 1);
  EXPECT_FALSE(c.will->retain);
  EXPECT_EQ(c.will->topic, "dev/status");
  EXPECT_EQ(c.will->payload, "offline");
  EXPECT_EQ(c.will->properties.will_delay_interval, 5u);
  EXPECT_EQ(c.will->properties.payload_format_indicator, 1);
  EXPECT_EQ(c.username, "bob");
  EXPECT_EQ(c.password, "secret");
}

TEST(DecodeV5Test, ConnectPasswordWithoutUsernameIsAllowed) {
  Result<Packet> r =
      decode_wire(frame(0x10, connect_head(0x42).props(kNoProps).str("c").str("pw")), kV5);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_FALSE(std::get<ConnectPacket>(*r).username);
  EXPECT_EQ(std::get<ConnectPacket>(*r).password, "pw");
}

TEST(DecodeV5Test, ConnectFlagRules) {
  EXPECT_EQ(decode_code(frame(0x10, connect_head(0x03).props(kNoProps).str("c")), kV5),
            Code::kInvalidArgument);  // MQTT-3.1.2-3
  EXPECT_EQ(decode_code(frame(0x10, connect_head(0x0A).props(kNoProps).str("c")), kV5),
            Code::kInvalidArgument);  // MQTT-3.1.2-11
  EXPECT_EQ(decode_code(frame(0x10, connect_head(0x22).props(kNoProps).str("c")), kV5),
            Code::kInvalidArgument);  // MQTT-3.1.2-13
  EXPECT_EQ(
      decode_code(
          frame(0x10, connect_head(0x1E).props(kNoProps).str("c").props(kNoProps).str("w").str("")),
          kV5),
      Code::kInvalidArgument);  // will QoS 3
}

TEST(DecodeV5Test, ConnectMissingPropertiesIsMalformed) {
  // Without the property length byte, the client id's length bytes are misread; with an
  // empty body after keep alive it is plainly truncated.
  EXPECT_EQ(decode_code(frame(0x10, connect_head(0x02)), kV5), Code::kInvalidArgument);
  EXPECT_EQ(decode_code(frame(0x10, connect_head(0x02).str("cc")), kV5), Code::kInvalidArgument);
}

TEST(DecodeV5Test, ConnectWillPropertiesMustPrecedeTopic) {
  // Will flag set, but no will property block: topic length 0x0001 would be read as a
  // property length, leaving garbage.
  EXPECT_FALSE(
      decode_wire(frame(0x10, connect_head(0x06).props(kNoProps).str("c").str("w").str("x")), kV5)
          .is_ok());
}

TEST(DecodeV5Test, ConnectTrailingBytesAreMalformed) {
  EXPECT_EQ(decode_code(frame(0x10, connect_head(0x02).props(kNoProps).str("c").u8(1)), kV5),
            Code::kInvalidArgument);
}

// ---- PUBLISH ------------------------------------------------------------------------------

TEST(DecodeV5Test, PublishWithProperties) {
  const std::string wire = frame(
      0x3D, Bytes()
                .str("a/b")
                .u16(42)
                .props(Bytes().u8(0x23).u16(3).u8(0x0B).varint(200).u8(0x0B).varint(1).u8(0x09).str(
                    std::string("\x00\x01", 2)))
                .raw("payload"));
  Result<Packet> r = decode_wire(wire, kV5);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  const auto& p = std::get<PublishPacket>(*r);
  EXPECT_EQ(p.topic, "a/b");
  EXPECT_EQ(p.qos, 2);
  EXPECT_TRUE(p.dup);
  EXPECT_TRUE(p.retain);
  EXPECT_EQ(p.packet_id, 42);
  EXPECT_EQ(p.payload, "payload");
  EXPECT_EQ(p.properties.topic_alias, 3);
  EXPECT_EQ(p.properties.subscription_identifiers, (std::vector<uint32_t>{200, 1}));
  EXPECT_EQ(p.properties.correlation_data, std::string("\x00\x01", 2));
}

TEST(DecodeV5Test, PublishEmptyTopicWithTopicAlias) {
  const std::string wire = frame(0x30, Bytes().str("").props(Bytes().u8(0x23).u16(1)).raw("x"));
  Result<Packet> r = decode_wire(wire, kV5);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(std::get<PublishPacket>(*r).topic, "");
  EXPECT_EQ(std::get<PublishPacket>(*r).properties.topic_alias, 1);
}

TEST(DecodeV5Test, PublishEmptyTopicWithoutAliasIsProtocolError) {
  EXPECT_EQ(decode_code(frame(0x30, Bytes().str("").props(kNoProps).raw("x")), kV5),
            Code::kProtocolError);
}

TEST(DecodeV5Test, PublishWildcardTopicIsProtocolError) {
  EXPECT_EQ(decode_code(frame(0x30, Bytes().str("a/#").props(kNoProps)), kV5),
            Code::kProtocolError);  // MQTT-3.3.2-2
}

TEST(DecodeV5Test, PublishFlagRules) {
  EXPECT_EQ(decode_code(frame(0x36, Bytes().str("t").u16(1).props(kNoProps)), kV5),
            Code::kInvalidArgument);  // QoS 3, MQTT-3.3.1-4
  EXPECT_EQ(decode_code(frame(0x38, Bytes().str("t").props(kNoProps)), kV5),
            Code::kInvalidArgument);  // DUP at QoS 0, MQTT-3.3.1-2
  EXPECT_EQ(decode_code(frame(0x32, Bytes().str("t").u16(0).props(kNoProps)), kV5),
            Code::kProtocolError);  // packet id 0
}

TEST(DecodeV5Test, PublishPropertiesPastBodyAreMalformed) {
  EXPECT_EQ(decode_code(frame(0x30, Bytes().str("t").u8(5).u8(0x01)), kV5), Code::kInvalidArgument);
  EXPECT_EQ(decode_code(frame(0x30, Bytes().str("t")), kV5), Code::kInvalidArgument);
}

// ---- Acknowledgements ---------------------------------------------------------------------

TEST(DecodeV5Test, AckShortForms) {
  for (uint8_t first : {0x40, 0x50, 0x62, 0x70}) {
    Result<Packet> r = decode_wire(frame(first, Bytes().u16(5)), kV5);
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    EXPECT_EQ(std::get<AckPacket>(*r).reason_code, 0);  // length 2 => success
    r = decode_wire(frame(first, Bytes().u16(5).u8(0x92)), kV5);
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    EXPECT_EQ(std::get<AckPacket>(*r).reason_code, 0x92);  // length 3 => no properties
    EXPECT_TRUE(std::get<AckPacket>(*r).properties.empty());
  }
}

TEST(DecodeV5Test, AckWithProperties) {
  Result<Packet> r =
      decode_wire(frame(0x40, Bytes().u16(5).u8(0x10).props(Bytes().u8(0x1F).str("none"))), kV5);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  const auto& a = std::get<AckPacket>(*r);
  EXPECT_EQ(a.type, PacketType::kPuback);
  EXPECT_EQ(a.packet_id, 5);
  EXPECT_EQ(a.reason_code, reason::kNoMatchingSubscribers);
  EXPECT_EQ(a.properties.reason_string, "none");
  // An empty property block is fine too.
  EXPECT_TRUE(decode_wire(frame(0x70, Bytes().u16(5).u8(0).u8(0)), kV5).is_ok());
}

TEST(DecodeV5Test, AckRules) {
  EXPECT_EQ(decode_code(frame(0x40, Bytes().u16(0)), kV5), Code::kProtocolError);
  EXPECT_EQ(decode_code(frame(0x40, Bytes().u8(1)), kV5), Code::kInvalidArgument);
  EXPECT_EQ(decode_code(frame(0x40, Bytes().u16(1).u8(0).u8(0).u8(0)), kV5),
            Code::kInvalidArgument);  // trailing byte after properties
  EXPECT_EQ(decode_code(frame(0x40, Bytes().u16(1).u8(0).u8(3)), kV5),
            Code::kInvalidArgument);  // property length past the body
  EXPECT_EQ(decode_code(frame(0x62, Bytes().u16(1).u8(0).props(Bytes().u8(0x23).u16(1))), kV5),
            Code::kInvalidArgument);  // topic alias not allowed on PUBREL
}

// ---- SUBSCRIBE / UNSUBSCRIBE --------------------------------------------------------------

TEST(DecodeV5Test, SubscribeOptions) {
  const std::string wire = frame(0x82, Bytes()
                                           .u16(1)
                                           .props(Bytes().u8(0x0B).varint(268'435'455))
                                           .str("a/+")
                                           .u8(0x2D)  // rh 2, rap, no local, QoS 1
                                           .str("$share/g/a/+")
                                           .u8(0x1A)  // rh 1, rap, QoS 2
                                           .str("#")
                                           .u8(0x00));
  Result<Packet> r = decode_wire(wire, kV5);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  const auto& s = std::get<SubscribePacket>(*r);
  EXPECT_EQ(s.properties.subscription_identifiers, (std::vector<uint32_t>{268'435'455}));
  ASSERT_EQ(s.subscriptions.size(), 3u);
  EXPECT_EQ(s.subscriptions[0].qos, 1);
  EXPECT_TRUE(s.subscriptions[0].no_local);
  EXPECT_TRUE(s.subscriptions[0].retain_as_published);
  EXPECT_EQ(s.subscriptions[0].retain_handling, 2);
  EXPECT_EQ(s.subscriptions[1].filter, "$share/g/a/+");
  EXPECT_EQ(s.subscriptions[1].qos, 2);
  EXPECT_FALSE(s.subscriptions[1].no_local);
  EXPECT_TRUE(s.subscriptions[1].retain_as_published);
  EXPECT_EQ(s.subscriptions[1].retain_handling, 1);
  EXPECT_EQ(s.subscriptions[2].qos, 0);
  EXPECT_FALSE(s.subscriptions[2].retain_as_published);
  EXPECT_EQ(s.subscriptions[2].retain_handling, 0);
}

TEST(DecodeV5Test, SubscribeReservedBitsAreMalformed) {
  EXPECT_EQ(decode_code(frame(0x82, Bytes().u16(1).props(kNoProps).str("a").u8(0x40)), kV5),
            Code::kInvalidArgument);  // MQTT-3.8.3-5
  EXPECT_EQ(decode_code(frame(0x82, Bytes().u16(1).props(kNoProps).str("a").u8(0x80)), kV5),
            Code::kInvalidArgument);
}

TEST(DecodeV5Test, SubscribeMaximumQos3IsProtocolError) {
  // MQTT 5 §3.8.3.1: "It is a Protocol Error if the Maximum QoS field has the value 3."
  EXPECT_EQ(decode_code(frame(0x82, Bytes().u16(1).props(kNoProps).str("a").u8(0x03)), kV5),
            Code::kProtocolError);
}

TEST(DecodeV5Test, SubscribeRetainHandling3IsProtocolError) {
  EXPECT_EQ(decode_code(frame(0x82, Bytes().u16(1).props(kNoProps).str("a").u8(0x30)), kV5),
            Code::kProtocolError);
}

TEST(DecodeV5Test, SubscribeNoLocalOnSharedIsProtocolError) {
  EXPECT_EQ(
      decode_code(frame(0x82, Bytes().u16(1).props(kNoProps).str("$share/g/a").u8(0x04)), kV5),
      Code::kProtocolError);  // MQTT-3.8.3-4
}

TEST(DecodeV5Test, SubscribeStructureRules) {
  EXPECT_EQ(decode_code(frame(0x82, Bytes().u16(1).props(kNoProps)), kV5), Code::kProtocolError);
  EXPECT_EQ(decode_code(frame(0x82, Bytes().u16(0).props(kNoProps).str("a").u8(0)), kV5),
            Code::kProtocolError);
  EXPECT_EQ(decode_code(frame(0x82, Bytes().u16(1).props(kNoProps).str("a/#/b").u8(0)), kV5),
            Code::kProtocolError);
  EXPECT_EQ(decode_code(frame(0x82, Bytes().u16(1).props(kNoProps).str("a")), kV5),
            Code::kInvalidArgument);
  EXPECT_EQ(decode_code(frame(0x82, Bytes().u16(1).str("a").u8(0)), kV5),
            Code::kInvalidArgument);  // property block missing: 0x00 0x01 misparsed
}

TEST(DecodeV5Test, Unsubscribe) {
  Result<Packet> r = decode_wire(
      frame(0xA2, Bytes().u16(2).props(Bytes().u8(0x26).str("a").str("b")).str("x/+")), kV5);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  const auto& u = std::get<UnsubscribePacket>(*r);
  EXPECT_EQ(u.filters, (std::vector<std::string>{"x/+"}));
  EXPECT_EQ(u.properties.user_properties.size(), 1u);
  EXPECT_EQ(decode_code(frame(0xA2, Bytes().u16(2).props(kNoProps)), kV5), Code::kProtocolError);
  EXPECT_EQ(
      decode_code(frame(0xA2, Bytes().u16(2).props(Bytes().u8(0x0B).varint(1)).str("x")), kV5),
      Code::kInvalidArgument);  // subscription identifier not allowed on UNSUBSCRIBE
}

// ---- Server-to-client packets -------------------------------------------------------------

TEST(DecodeV5Test, Connack) {
  Result<Packet> r = decode_wire(
      frame(0x20, Bytes()
                      .u8(0)
                      .u8(reason::kBadUserNameOrPassword)
                      .props(Bytes().u8(0x24).u8(1).u8(0x12).str("auto-1").u8(0x13).u16(10))),
      kV5);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  const auto& c = std::get<ConnackPacket>(*r);
  EXPECT_EQ(c.reason_code, 0x86);
  EXPECT_EQ(c.properties.maximum_qos, 1);
  EXPECT_EQ(c.properties.assigned_client_identifier, "auto-1");
  EXPECT_EQ(c.properties.server_keep_alive, 10);
  // v5 CONNACK always carries a property length.
  EXPECT_EQ(decode_code(frame(0x20, Bytes().u8(0).u8(0)), kV5), Code::kInvalidArgument);
  EXPECT_EQ(decode_code(frame(0x20, Bytes().u8(0x80).u8(0).u8(0)), kV5), Code::kInvalidArgument);
}

TEST(DecodeV5Test, SubackAndUnsuback) {
  Result<Packet> r =
      decode_wire(frame(0x90, Bytes().u16(3).props(kNoProps).u8(1).u8(0x8F).u8(0xA2)), kV5);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(std::get<SubackPacket>(*r).reason_codes, (std::vector<uint8_t>{1, 0x8F, 0xA2}));
  r = decode_wire(frame(0xB0, Bytes().u16(3).props(Bytes().u8(0x1F).str("x")).u8(0x11)), kV5);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(std::get<UnsubackPacket>(*r).reason_codes, (std::vector<uint8_t>{0x11}));
  EXPECT_EQ(std::get<UnsubackPacket>(*r).properties.reason_string, "x");
  EXPECT_EQ(decode_code(frame(0xB0, Bytes().u16(3).props(kNoProps)), kV5), Code::kProtocolError);
  EXPECT_EQ(decode_code(frame(0x90, Bytes().u16(3).props(kNoProps)), kV5), Code::kProtocolError);
}

// ---- DISCONNECT / AUTH / PING -------------------------------------------------------------

TEST(DecodeV5Test, DisconnectForms) {
  Result<Packet> r = decode_wire(frame(0xE0, Bytes()), kV5);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(std::get<DisconnectPacket>(*r).reason_code, 0);
  r = decode_wire(frame(0xE0, Bytes().u8(reason::kDisconnectWithWill)), kV5);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(std::get<DisconnectPacket>(*r).reason_code, 4);
  r = decode_wire(frame(0xE0, Bytes().u8(0x8B).props(Bytes().u8(0x11).u32(0).u8(0x1C).str("b"))),
                  kV5);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(std::get<DisconnectPacket>(*r).properties.session_expiry_interval, 0u);
  EXPECT_EQ(std::get<DisconnectPacket>(*r).properties.server_reference, "b");
  EXPECT_EQ(decode_code(frame(0xE0, Bytes().u8(0).u8(0).u8(0)), kV5), Code::kInvalidArgument);
  EXPECT_EQ(decode_code(frame(0xE0, Bytes().u8(0).props(Bytes().u8(0x21).u16(1))), kV5),
            Code::kInvalidArgument);  // receive maximum not allowed on DISCONNECT
}

TEST(DecodeV5Test, AuthForms) {
  Result<Packet> r = decode_wire(frame(0xF0, Bytes()), kV5);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(std::get<AuthPacket>(*r).reason_code, reason::kSuccess);
  r = decode_wire(
      frame(0xF0, Bytes().u8(0x18).props(Bytes().u8(0x15).str("SCRAM").u8(0x16).str("data"))), kV5);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  const auto& a = std::get<AuthPacket>(*r);
  EXPECT_EQ(a.reason_code, reason::kContinueAuthentication);
  EXPECT_EQ(a.properties.authentication_method, "SCRAM");
  EXPECT_EQ(a.properties.authentication_data, "data");
  EXPECT_EQ(decode_code(frame(0xF0, Bytes().u8(0x18).u8(0).u8(0)), kV5), Code::kInvalidArgument);
  EXPECT_EQ(decode_code(frame(0xF1, Bytes()), kV5), Code::kInvalidArgument);  // flags
}

TEST(DecodeV5Test, PingsMustBeEmpty) {
  EXPECT_TRUE(decode_wire(frame(0xC0, Bytes()), kV5).is_ok());
  EXPECT_EQ(decode_code(frame(0xC0, Bytes().u8(0)), kV5), Code::kInvalidArgument);
  EXPECT_EQ(decode_code(frame(0xD0, Bytes().u8(0)), kV5), Code::kInvalidArgument);
}

}  // namespace
}  // namespace topicdb::mqtt
