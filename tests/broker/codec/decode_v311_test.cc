// Decoding MQTT 3.1.1 packets built byte by byte, and every malformed / protocol-error rule.
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

using codec_test::kV311;

// A CONNECT body up to and including the keep alive.
Bytes connect_head(uint8_t flags, std::string_view name = "MQTT", uint8_t level = 4) {
  Bytes b;
  b.str(name).u8(level).u8(flags).u16(60);
  return b;
}

// ---- CONNECT ------------------------------------------------------------------------------

TEST(DecodeV311Test, MinimalConnect) {
  const std::string wire = frame(0x10, connect_head(0x02).str("client-1"));
  Result<Packet> r = decode_wire(wire, ProtocolVersion::kV5);  // CONNECT ignores the version
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  const auto& c = std::get<ConnectPacket>(*r);
  EXPECT_EQ(c.version, kV311);
  EXPECT_TRUE(c.clean_start);
  EXPECT_EQ(c.keep_alive, 60);
  EXPECT_EQ(c.client_id, "client-1");
  EXPECT_FALSE(c.will);
  EXPECT_FALSE(c.username);
  EXPECT_FALSE(c.password);
  EXPECT_TRUE(c.properties.empty());
}

TEST(DecodeV311Test, FullConnect) {
  // clean=0, will QoS 2 retained, user name and password.
  const std::string wire = frame(0x10, connect_head(0x80 | 0x40 | 0x20 | 0x10 | 0x04)
                                           .str("")
                                           .str("last/will")
                                           .str(std::string("\x00\xFFgone", 6))
                                           .str("alice")
                                           .str(std::string("\x00\x01\xFE", 3)));
  Result<Packet> r = decode_wire(wire, kV311);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  const auto& c = std::get<ConnectPacket>(*r);
  EXPECT_FALSE(c.clean_start);
  EXPECT_EQ(c.client_id, "");  // empty client ids are the broker's decision
  ASSERT_TRUE(c.will);
  EXPECT_EQ(c.will->topic, "last/will");
  EXPECT_EQ(c.will->payload, std::string("\x00\xFFgone", 6));  // binary data
  EXPECT_EQ(c.will->qos, 2);
  EXPECT_TRUE(c.will->retain);
  EXPECT_EQ(c.username, "alice");
  EXPECT_EQ(c.password, std::string("\x00\x01\xFE", 3));
}

TEST(DecodeV311Test, ConnectWrongProtocolNameIsUnsupported) {
  EXPECT_EQ(decode_code(frame(0x10, connect_head(0x02, "MQTX").str("c")), kV311),
            Code::kUnsupported);  // MQTT-3.1.2-1
  EXPECT_EQ(decode_code(frame(0x10, connect_head(0x02, "mqtt").str("c")), kV311),
            Code::kUnsupported);
}

TEST(DecodeV311Test, ConnectUnknownLevelIsUnsupported) {
  for (uint8_t level : {0, 3, 6, 255}) {
    EXPECT_EQ(decode_code(frame(0x10, connect_head(0x02, "MQTT", level).str("c")), kV311),
              Code::kUnsupported)
        << int{level};  // MQTT-3.1.2-2
  }
}

TEST(DecodeV311Test, ConnectReservedFlagIsMalformed) {
  EXPECT_EQ(decode_code(frame(0x10, connect_head(0x03).str("c")), kV311),
            Code::kInvalidArgument);  // MQTT-3.1.2-3
}

TEST(DecodeV311Test, ConnectWillQosWithoutWillIsMalformed) {
  EXPECT_EQ(decode_code(frame(0x10, connect_head(0x02 | 0x08).str("c")), kV311),
            Code::kInvalidArgument);  // MQTT-3.1.2-13
  EXPECT_EQ(decode_code(frame(0x10, connect_head(0x02 | 0x10).str("c")), kV311),
            Code::kInvalidArgument);
}

TEST(DecodeV311Test, ConnectWillRetainWithoutWillIsMalformed) {
  EXPECT_EQ(decode_code(frame(0x10, connect_head(0x02 | 0x20).str("c")), kV311),
            Code::kInvalidArgument);  // MQTT-3.1.2-15
}

TEST(DecodeV311Test, ConnectWillQos3IsMalformed) {
  EXPECT_EQ(
      decode_code(frame(0x10, connect_head(0x02 | 0x04 | 0x18).str("c").str("w").str("")), kV311),
      Code::kInvalidArgument);  // MQTT-3.1.2-14
}

TEST(DecodeV311Test, ConnectPasswordWithoutUsernameIsMalformed) {
  EXPECT_EQ(decode_code(frame(0x10, connect_head(0x02 | 0x40).str("c").str("pw")), kV311),
            Code::kInvalidArgument);  // MQTT-3.1.2-22
}

TEST(DecodeV311Test, ConnectWillTopicWithWildcardIsProtocolError) {
  EXPECT_EQ(decode_code(frame(0x10, connect_head(0x06).str("c").str("a/#").str("x")), kV311),
            Code::kProtocolError);
  EXPECT_EQ(decode_code(frame(0x10, connect_head(0x06).str("c").str("").str("x")), kV311),
            Code::kProtocolError);
}

TEST(DecodeV311Test, ConnectBadUtf8IsMalformed) {
  EXPECT_EQ(decode_code(frame(0x10, connect_head(0x02).str("\xC0\x80")), kV311),
            Code::kInvalidArgument);  // client id
  EXPECT_EQ(decode_code(frame(0x10, connect_head(0x82).str("c").str("\xED\xA0\x80")), kV311),
            Code::kInvalidArgument);  // user name
  EXPECT_EQ(decode_code(frame(0x10, connect_head(0x06).str("c").str(std::string("a\0", 2)).str("")),
                        kV311),
            Code::kInvalidArgument);  // will topic with U+0000
}

TEST(DecodeV311Test, ConnectTruncatedIsMalformed) {
  Bytes no_keep_alive;
  no_keep_alive.str("MQTT").u8(4).u8(0x02);
  EXPECT_EQ(decode_code(frame(0x10, no_keep_alive), kV311), Code::kInvalidArgument);
  EXPECT_EQ(decode_code(frame(0x10, connect_head(0x02)), kV311), Code::kInvalidArgument);
  EXPECT_EQ(decode_code(frame(0x10, connect_head(0x02).u16(5).raw("ab")), kV311),
            Code::kInvalidArgument);  // client id runs past the body
  EXPECT_EQ(decode_code(frame(0x10, connect_head(0x82).str("c")), kV311),
            Code::kInvalidArgument);  // user name flag, no user name
  EXPECT_EQ(decode_code(frame(0x10, connect_head(0x06).str("c").str("w")), kV311),
            Code::kInvalidArgument);  // will payload missing
  Bytes tiny;
  tiny.u8(0);
  EXPECT_EQ(decode_code(frame(0x10, tiny), kV311), Code::kInvalidArgument);
}

TEST(DecodeV311Test, ConnectTrailingBytesAreMalformed) {
  EXPECT_EQ(decode_code(frame(0x10, connect_head(0x02).str("c").u8(0)), kV311),
            Code::kInvalidArgument);
}

// ---- Fixed-header flags -------------------------------------------------------------------

TEST(DecodeV311Test, ReservedFlagsMustMatch) {
  Bytes id;
  id.u16(1);
  Bytes sub;
  sub.u16(1).str("a").u8(0);
  Bytes unsub;
  unsub.u16(1).str("a");
  EXPECT_EQ(decode_code(frame(0x60, id), kV311), Code::kInvalidArgument);  // MQTT-3.6.1-1
  EXPECT_EQ(decode_code(frame(0x63, id), kV311), Code::kInvalidArgument);
  EXPECT_EQ(decode_code(frame(0x80, sub), kV311), Code::kInvalidArgument);    // MQTT-3.8.1-1
  EXPECT_EQ(decode_code(frame(0xA0, unsub), kV311), Code::kInvalidArgument);  // 3.10.1-1
  EXPECT_EQ(decode_code(frame(0x41, id), kV311), Code::kInvalidArgument);     // PUBACK
  EXPECT_EQ(decode_code(frame(0x52, id), kV311), Code::kInvalidArgument);     // PUBREC
  EXPECT_EQ(decode_code(frame(0x72, id), kV311), Code::kInvalidArgument);     // PUBCOMP
  EXPECT_EQ(decode_code(frame(0x12, connect_head(0x02).str("c")), kV311), Code::kInvalidArgument);
  EXPECT_EQ(decode_code(frame(0xC8, Bytes()), kV311), Code::kInvalidArgument);  // PINGREQ
  EXPECT_EQ(decode_code(frame(0xE1, Bytes()), kV311), Code::kInvalidArgument);  // DISCONNECT
  // The right flags decode.
  EXPECT_TRUE(decode_wire(frame(0x62, id), kV311).is_ok());
  EXPECT_TRUE(decode_wire(frame(0x82, sub), kV311).is_ok());
  EXPECT_TRUE(decode_wire(frame(0xA2, unsub), kV311).is_ok());
}

// ---- PUBLISH ------------------------------------------------------------------------------

TEST(DecodeV311Test, PublishQos0BorrowsTopicAndPayload) {
  const std::string wire = frame(0x31, Bytes().str("a/b").raw("hello"));
  Result<Packet> r = decode_wire(wire, kV311);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  const auto& p = std::get<PublishPacket>(*r);
  EXPECT_EQ(p.topic, "a/b");
  EXPECT_EQ(p.payload, "hello");
  EXPECT_EQ(p.qos, 0);
  EXPECT_TRUE(p.retain);
  EXPECT_FALSE(p.dup);
  EXPECT_EQ(p.packet_id, 0);
  // No copies: the views point into the wire buffer.
  EXPECT_EQ(p.topic.data(), wire.data() + 4);
  EXPECT_EQ(p.payload.data(), wire.data() + 7);
}

TEST(DecodeV311Test, PublishQos1And2) {
  const std::string q1 = frame(0x3A, Bytes().str("t").u16(7).raw("x"));  // dup, QoS 1
  Result<Packet> r = decode_wire(q1, kV311);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(std::get<PublishPacket>(*r).qos, 1);
  EXPECT_TRUE(std::get<PublishPacket>(*r).dup);
  EXPECT_EQ(std::get<PublishPacket>(*r).packet_id, 7);
  const std::string q2 = frame(0x34, Bytes().str("t").u16(0xFFFF));  // empty payload
  r = decode_wire(q2, kV311);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(std::get<PublishPacket>(*r).qos, 2);
  EXPECT_EQ(std::get<PublishPacket>(*r).packet_id, 0xFFFF);
  EXPECT_EQ(std::get<PublishPacket>(*r).payload, "");
}

TEST(DecodeV311Test, PublishPayloadMayHoldAnyBytes) {
  const std::string payload("\x00\xC0\x80\xFF", 4);  // not UTF-8, not checked
  const std::string wire = frame(0x30, Bytes().str("t").raw(payload));
  Result<Packet> r = decode_wire(wire, kV311);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(std::get<PublishPacket>(*r).payload, payload);
}

TEST(DecodeV311Test, PublishQos3IsMalformed) {
  EXPECT_EQ(decode_code(frame(0x36, Bytes().str("t").u16(1)), kV311),
            Code::kInvalidArgument);  // MQTT-3.3.1-4
}

TEST(DecodeV311Test, PublishDupAtQos0IsMalformed) {
  EXPECT_EQ(decode_code(frame(0x38, Bytes().str("t")), kV311),
            Code::kInvalidArgument);  // MQTT-3.3.1-2
}

TEST(DecodeV311Test, PublishEmptyTopicIsProtocolError) {
  EXPECT_EQ(decode_code(frame(0x30, Bytes().str("").raw("x")), kV311),
            Code::kProtocolError);  // MQTT-4.7.3-1
}

TEST(DecodeV311Test, PublishWildcardTopicIsProtocolError) {
  EXPECT_EQ(decode_code(frame(0x30, Bytes().str("a/+")), kV311), Code::kProtocolError);
  EXPECT_EQ(decode_code(frame(0x30, Bytes().str("#")), kV311), Code::kProtocolError);
}

TEST(DecodeV311Test, PublishBadUtf8TopicIsMalformed) {
  EXPECT_EQ(decode_code(frame(0x30, Bytes().str("\xC0\x80")), kV311), Code::kInvalidArgument);
  EXPECT_EQ(decode_code(frame(0x30, Bytes().str(std::string("a\0b", 3))), kV311),
            Code::kInvalidArgument);
  EXPECT_EQ(decode_code(frame(0x30, Bytes().str("\xED\xA0\x80")), kV311), Code::kInvalidArgument);
  EXPECT_EQ(decode_code(frame(0x30, Bytes().str("\xF4\x90\x80\x80")), kV311),
            Code::kInvalidArgument);
}

TEST(DecodeV311Test, PublishPacketIdZeroIsProtocolError) {
  EXPECT_EQ(decode_code(frame(0x32, Bytes().str("t").u16(0)), kV311), Code::kProtocolError);
}

TEST(DecodeV311Test, PublishTruncatedIsMalformed) {
  EXPECT_EQ(decode_code(frame(0x32, Bytes().str("t").u8(1)), kV311), Code::kInvalidArgument);
  EXPECT_EQ(decode_code(frame(0x30, Bytes().u16(10).raw("abc")), kV311), Code::kInvalidArgument);
  EXPECT_EQ(decode_code(frame(0x30, Bytes().u8(0)), kV311), Code::kInvalidArgument);
  EXPECT_EQ(decode_code(frame(0x30, Bytes()), kV311), Code::kInvalidArgument);
}

// ---- PUBACK / PUBREC / PUBREL / PUBCOMP ---------------------------------------------------

TEST(DecodeV311Test, Acks) {
  for (uint8_t first : {0x40, 0x50, 0x62, 0x70}) {
    Result<Packet> r = decode_wire(frame(first, Bytes().u16(0x1234)), kV311);
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    const auto& a = std::get<AckPacket>(*r);
    EXPECT_EQ(a.type, static_cast<PacketType>(first >> 4));
    EXPECT_EQ(a.packet_id, 0x1234);
    EXPECT_EQ(a.reason_code, 0);
  }
}

TEST(DecodeV311Test, AckMustBeExactlyTwoBytes) {
  EXPECT_EQ(decode_code(frame(0x40, Bytes().u16(1).u8(0)), kV311), Code::kInvalidArgument);
  EXPECT_EQ(decode_code(frame(0x50, Bytes().u8(1)), kV311), Code::kInvalidArgument);
  EXPECT_EQ(decode_code(frame(0x70, Bytes()), kV311), Code::kInvalidArgument);
}

TEST(DecodeV311Test, AckPacketIdZeroIsProtocolError) {
  EXPECT_EQ(decode_code(frame(0x40, Bytes().u16(0)), kV311), Code::kProtocolError);
}

// ---- SUBSCRIBE / UNSUBSCRIBE --------------------------------------------------------------

TEST(DecodeV311Test, Subscribe) {
  const std::string wire =
      frame(0x82, Bytes().u16(10).str("a/+/b").u8(0).str("#").u8(1).str("$share/g/a/+").u8(2));
  Result<Packet> r = decode_wire(wire, kV311);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  const auto& s = std::get<SubscribePacket>(*r);
  EXPECT_EQ(s.packet_id, 10);
  ASSERT_EQ(s.subscriptions.size(), 3u);
  EXPECT_EQ(s.subscriptions[0].filter, "a/+/b");
  EXPECT_EQ(s.subscriptions[0].qos, 0);
  EXPECT_EQ(s.subscriptions[1].filter, "#");
  EXPECT_EQ(s.subscriptions[1].qos, 1);
  EXPECT_EQ(s.subscriptions[2].filter, "$share/g/a/+");
  EXPECT_EQ(s.subscriptions[2].qos, 2);
}

TEST(DecodeV311Test, SubscribePacketIdZeroIsProtocolError) {
  EXPECT_EQ(decode_code(frame(0x82, Bytes().u16(0).str("a").u8(0)), kV311), Code::kProtocolError);
}

TEST(DecodeV311Test, SubscribeWithoutFiltersIsProtocolError) {
  EXPECT_EQ(decode_code(frame(0x82, Bytes().u16(1)), kV311), Code::kProtocolError);  // 3.8.3-3
}

TEST(DecodeV311Test, SubscribeReservedOptionBitsAreMalformed) {
  for (uint8_t options : {0x04, 0x08, 0x10, 0x20, 0x40, 0x80}) {
    EXPECT_EQ(decode_code(frame(0x82, Bytes().u16(1).str("a").u8(options)), kV311),
              Code::kInvalidArgument)
        << int{options};  // MQTT-3-8.3-4
  }
}

TEST(DecodeV311Test, SubscribeQos3IsMalformed) {
  EXPECT_EQ(decode_code(frame(0x82, Bytes().u16(1).str("a").u8(3)), kV311), Code::kInvalidArgument);
}

TEST(DecodeV311Test, SubscribeInvalidFilterIsProtocolError) {
  for (const char* f : {"", "a#", "a/#/b", "a+", "#/"}) {
    EXPECT_EQ(decode_code(frame(0x82, Bytes().u16(1).str(f).u8(0)), kV311), Code::kProtocolError)
        << f;
  }
}

TEST(DecodeV311Test, SubscribeBadUtf8IsMalformed) {
  EXPECT_EQ(decode_code(frame(0x82, Bytes().u16(1).str("\xED\xA0\x80").u8(0)), kV311),
            Code::kInvalidArgument);
}

TEST(DecodeV311Test, SubscribeTruncatedIsMalformed) {
  EXPECT_EQ(decode_code(frame(0x82, Bytes().u16(1).str("a")), kV311), Code::kInvalidArgument);
  EXPECT_EQ(decode_code(frame(0x82, Bytes().u16(1).str("a").u8(0).u8(0)), kV311),
            Code::kInvalidArgument);
  EXPECT_EQ(decode_code(frame(0x82, Bytes().u8(1)), kV311), Code::kInvalidArgument);
}

TEST(DecodeV311Test, Unsubscribe) {
  const std::string wire = frame(0xA2, Bytes().u16(3).str("a/#").str("$share/g/x"));
  Result<Packet> r = decode_wire(wire, kV311);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  const auto& u = std::get<UnsubscribePacket>(*r);
  EXPECT_EQ(u.packet_id, 3);
  ASSERT_EQ(u.filters.size(), 2u);
  EXPECT_EQ(u.filters[0], "a/#");
  EXPECT_EQ(u.filters[1], "$share/g/x");
}

TEST(DecodeV311Test, UnsubscribeRules) {
  EXPECT_EQ(decode_code(frame(0xA2, Bytes().u16(0).str("a")), kV311), Code::kProtocolError);
  EXPECT_EQ(decode_code(frame(0xA2, Bytes().u16(1)), kV311), Code::kProtocolError);  // 3.10.3-2
  EXPECT_EQ(decode_code(frame(0xA2, Bytes().u16(1).str("a/#/b")), kV311), Code::kProtocolError);
  EXPECT_EQ(decode_code(frame(0xA2, Bytes().u16(1).str("\xC0\x80")), kV311),
            Code::kInvalidArgument);
  EXPECT_EQ(decode_code(frame(0xA2, Bytes().u16(1).str("a").u8(0)), kV311), Code::kInvalidArgument);
}

// ---- Server-to-client packets -------------------------------------------------------------

TEST(DecodeV311Test, Connack) {
  Result<Packet> r = decode_wire(frame(0x20, Bytes().u8(1).u8(0)), kV311);
  ASSERT_TRUE(r.is_ok());
  EXPECT_TRUE(std::get<ConnackPacket>(*r).session_present);
  EXPECT_EQ(std::get<ConnackPacket>(*r).reason_code, 0);
  r = decode_wire(frame(0x20, Bytes().u8(0).u8(connack_v311::kNotAuthorized)), kV311);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(std::get<ConnackPacket>(*r).reason_code, 5);
}

TEST(DecodeV311Test, ConnackRules) {
  EXPECT_EQ(decode_code(frame(0x20, Bytes().u8(2).u8(0)), kV311), Code::kInvalidArgument);
  EXPECT_EQ(decode_code(frame(0x20, Bytes().u8(0).u8(0).u8(0)), kV311), Code::kInvalidArgument);
  EXPECT_EQ(decode_code(frame(0x20, Bytes().u8(0)), kV311), Code::kInvalidArgument);
}

TEST(DecodeV311Test, Suback) {
  Result<Packet> r = decode_wire(frame(0x90, Bytes().u16(9).u8(0).u8(1).u8(2).u8(0x80)), kV311);
  ASSERT_TRUE(r.is_ok());
  const auto& s = std::get<SubackPacket>(*r);
  EXPECT_EQ(s.packet_id, 9);
  EXPECT_EQ(s.reason_codes, (std::vector<uint8_t>{0, 1, 2, 0x80}));
}

TEST(DecodeV311Test, SubackRules) {
  EXPECT_EQ(decode_code(frame(0x90, Bytes().u16(9).u8(3)), kV311),
            Code::kInvalidArgument);  // MQTT-3.9.3-2
  EXPECT_EQ(decode_code(frame(0x90, Bytes().u16(9)), kV311), Code::kProtocolError);
  EXPECT_EQ(decode_code(frame(0x90, Bytes().u16(0).u8(0)), kV311), Code::kProtocolError);
}

TEST(DecodeV311Test, Unsuback) {
  Result<Packet> r = decode_wire(frame(0xB0, Bytes().u16(4)), kV311);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(std::get<UnsubackPacket>(*r).packet_id, 4);
  EXPECT_TRUE(std::get<UnsubackPacket>(*r).reason_codes.empty());
  EXPECT_EQ(decode_code(frame(0xB0, Bytes().u16(4).u8(0)), kV311), Code::kInvalidArgument);
}

// ---- PINGREQ / PINGRESP / DISCONNECT / AUTH -----------------------------------------------

TEST(DecodeV311Test, EmptyPackets) {
  EXPECT_TRUE(std::holds_alternative<PingreqPacket>(*decode_wire(frame(0xC0, Bytes()), kV311)));
  EXPECT_TRUE(std::holds_alternative<PingrespPacket>(*decode_wire(frame(0xD0, Bytes()), kV311)));
  EXPECT_TRUE(std::holds_alternative<DisconnectPacket>(*decode_wire(frame(0xE0, Bytes()), kV311)));
}

TEST(DecodeV311Test, EmptyPacketsWithBodyAreMalformed) {
  EXPECT_EQ(decode_code(frame(0xC0, Bytes().u8(0)), kV311), Code::kInvalidArgument);
  EXPECT_EQ(decode_code(frame(0xD0, Bytes().u8(0)), kV311), Code::kInvalidArgument);
  EXPECT_EQ(decode_code(frame(0xE0, Bytes().u8(0)), kV311), Code::kInvalidArgument);
}

TEST(DecodeV311Test, AuthIsReservedIn311) {
  EXPECT_EQ(decode_code(frame(0xF0, Bytes()), kV311), Code::kInvalidArgument);
}

TEST(DecodeV311Test, BodySizeMustMatchHeader) {
  FrameHeader h;
  h.first_byte = 0x40;
  h.remaining_length = 2;
  h.header_size = 2;
  EXPECT_EQ(decode_packet(h, std::string_view("\x00\x01\x00", 3), kV311).status().code(),
            Code::kInvalidArgument);
  EXPECT_TRUE(decode_packet(h, std::string_view("\x00\x01", 2), kV311).is_ok());
}

}  // namespace
}  // namespace topicdb::mqtt
