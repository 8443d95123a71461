// MQTT 3.1 ("MQIsdp", level 3) in the codec: its CONNECT decodes as 3.1.1 plus the level
// it was sent with, mismatched names and levels are refused, and the encoder writes it back.
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
using codec_test::hex;
using Code = Status::Code;

using codec_test::kV311;

Bytes connect_head(std::string_view name, uint8_t level, uint8_t flags) {
  Bytes b;
  b.str(name).u8(level).u8(flags).u16(30);
  return b;
}

TEST(DecodeV31Test, MqisdpLevel3DecodesAsV311WithItsLevel) {
  // clean=0, a QoS 1 will, user name and password.
  const std::string wire = frame(0x10, connect_head("MQIsdp", 3, 0x80 | 0x40 | 0x08 | 0x04)
                                           .str("old-device")
                                           .str("dev/gone")
                                           .str("bye")
                                           .str("user")
                                           .str("pw"));
  // CONNECT ignores the connection's version: a 3.1 client's first packet arrives like any.
  Result<Packet> r = decode_wire(wire, ProtocolVersion::kV5);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  const auto& c = std::get<ConnectPacket>(*r);
  EXPECT_EQ(c.version, kV311);
  EXPECT_EQ(c.protocol_level, kMqtt31ProtocolLevel);
  EXPECT_FALSE(c.clean_start);
  EXPECT_EQ(c.keep_alive, 30);
  EXPECT_EQ(c.client_id, "old-device");
  ASSERT_TRUE(c.will);
  EXPECT_EQ(c.will->topic, "dev/gone");
  EXPECT_EQ(c.will->payload, "bye");
  EXPECT_EQ(c.will->qos, 1);
  EXPECT_EQ(c.username, "user");
  EXPECT_EQ(c.password, "pw");
}

TEST(DecodeV31Test, V311AndV5KeepTheirLevel) {
  Result<Packet> r = decode_wire(frame(0x10, connect_head("MQTT", 4, 0x02).str("c")), kV311);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(std::get<ConnectPacket>(*r).protocol_level, 4);
  r = decode_wire(frame(0x10, connect_head("MQTT", 5, 0x02).u8(0).str("c")), kV311);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(std::get<ConnectPacket>(*r).protocol_level, 5);
  EXPECT_EQ(std::get<ConnectPacket>(*r).version, ProtocolVersion::kV5);
}

TEST(DecodeV31Test, ClientIdsLongerThan23AreDecoded) {
  // 3.1 §3.1 limits ids to 23 characters; the broker accepts longer ones, as mosquitto does.
  const std::string id(200, 'x');
  Result<Packet> r = decode_wire(frame(0x10, connect_head("MQIsdp", 3, 0x02).str(id)), kV311);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(std::get<ConnectPacket>(*r).client_id, id);
}

TEST(DecodeV31Test, EmptyClientIdIsTheBrokersDecision) {
  Result<Packet> r = decode_wire(frame(0x10, connect_head("MQIsdp", 3, 0x02).str("")), kV311);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(std::get<ConnectPacket>(*r).client_id, "");
}

TEST(DecodeV31Test, NameAndLevelMustGoTogether) {
  // The broker answers kUnsupported with CONNACK 0x01 (0x84 for level 5).
  for (uint8_t level : {0, 4, 5, 6}) {
    EXPECT_EQ(decode_code(frame(0x10, connect_head("MQIsdp", level, 0x02).str("c")), kV311),
              Code::kUnsupported)
        << "MQIsdp level " << int{level};
  }
  EXPECT_EQ(decode_code(frame(0x10, connect_head("MQTT", 3, 0x02).str("c")), kV311),
            Code::kUnsupported);
  EXPECT_EQ(decode_code(frame(0x10, connect_head("MQIsdP", 3, 0x02).str("c")), kV311),
            Code::kUnsupported);
  EXPECT_EQ(decode_code(frame(0x10, connect_head("MQIs", 3, 0x02).str("c")), kV311),
            Code::kUnsupported);
}

TEST(DecodeV31Test, FlagRulesAreThoseOf311) {
  EXPECT_EQ(decode_code(frame(0x10, connect_head("MQIsdp", 3, 0x03).str("c")), kV311),
            Code::kInvalidArgument);  // reserved flag
  EXPECT_EQ(decode_code(frame(0x10, connect_head("MQIsdp", 3, 0x18).str("c")), kV311),
            Code::kInvalidArgument);  // will QoS 3 without a will
}

TEST(EncodeV31Test, ConnectWritesMqisdpAndLevel3) {
  ConnectPacket c;
  c.protocol_level = kMqtt31ProtocolLevel;
  c.client_id = "ab";
  c.keep_alive = 10;
  std::string wire;
  encode(c, &wire);
  EXPECT_EQ(hex(wire), hex(frame(0x10, Bytes().str("MQIsdp").u8(3).u8(0x02).u16(10).str("ab"))));
  Result<Packet> r = decode_wire(wire, kV311);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(std::get<ConnectPacket>(*r).protocol_level, kMqtt31ProtocolLevel);
  EXPECT_EQ(std::get<ConnectPacket>(*r).client_id, "ab");
}

TEST(EncodeV31Test, ConnackWithoutSessionPresentHasAZeroFirstByte) {
  // MQTT 3.1 §3.2: the first variable header byte is reserved; the broker clears
  // session_present for 3.1 clients, and the encoder then writes 0.
  ConnackPacket ack;
  ack.session_present = false;
  ack.reason_code = connack_v311::kIdentifierRejected;
  std::string wire;
  encode(ack, kV311, &wire);
  EXPECT_EQ(hex(wire), hex(std::string("\x20\x02\x00\x02", 4)));
}

}  // namespace
}  // namespace topicdb::mqtt
