// Encoder: exact bytes for reference packets, round trips (encode, parse_frame_header,
// decode_packet) for every packet type in both versions, and the PUBLISH header helpers.
#include <gtest/gtest.h>

#include <string>

#include "broker/codec/codec.h"
#include "tests/broker/codec/codec_test_util.h"

namespace topicdb::mqtt {
namespace {

using codec_test::Bytes;
using codec_test::decode_wire;
using codec_test::dump;
using codec_test::frame;
using codec_test::hex;
using mqtt::encode_any;

using codec_test::kV311;
using codec_test::kV5;

void expect_roundtrip(const Packet& p, ProtocolVersion v) {
  std::string wire;
  encode_any(p, v, &wire);
  Result<Packet> r = decode_wire(wire, v);
  ASSERT_TRUE(r.is_ok()) << dump(p) << " => " << r.status().to_string() << " wire=" << hex(wire);
  EXPECT_EQ(dump(*r), dump(p));
}

std::string encoded(const Packet& p, ProtocolVersion v) {
  std::string wire;
  encode_any(p, v, &wire);
  return wire;
}

Properties user_props() {
  Properties p;
  p.user_properties = {{"k1", "v1"}, {"k0", ""}, {"k1", "v2"}};
  return p;
}

Properties ack_props() {
  Properties p = user_props();
  p.reason_string = "because";
  return p;
}

// ---- Exact bytes --------------------------------------------------------------------------

TEST(EncodeTest, ConnectV311Bytes) {
  ConnectPacket c;
  c.client_id = "ab";
  c.keep_alive = 10;
  const std::string expected = frame(0x10, Bytes().str("MQTT").u8(4).u8(0x02).u16(10).str("ab"));
  EXPECT_EQ(hex(encoded(c, kV311)), hex(expected));
}

TEST(EncodeTest, ConnectV5Bytes) {
  ConnectPacket c;
  c.version = kV5;
  c.clean_start = false;
  c.client_id = "x";
  c.will = Will{"w", "bye", 1, true, {}};
  c.will->properties.will_delay_interval = 9;
  c.password = "pw";  // allowed without a user name in v5
  c.properties.session_expiry_interval = 60;
  const std::string expected = frame(0x10, Bytes()
                                               .str("MQTT")
                                               .u8(5)
                                               .u8(0x40 | 0x20 | 0x08 | 0x04)
                                               .u16(0)
                                               .props(Bytes().u8(0x11).u32(60))
                                               .str("x")
                                               .props(Bytes().u8(0x18).u32(9))
                                               .str("w")
                                               .str("bye")
                                               .str("pw"));
  EXPECT_EQ(hex(encoded(c, kV5)), hex(expected));
}

TEST(EncodeTest, PingAndEmptyDisconnectBytes) {
  EXPECT_EQ(hex(encoded(PingreqPacket{}, kV311)), "c000");
  EXPECT_EQ(hex(encoded(PingrespPacket{}, kV5)), "d000");
  EXPECT_EQ(hex(encoded(DisconnectPacket{}, kV311)), "e000");
  EXPECT_EQ(hex(encoded(DisconnectPacket{}, kV5)), "e000");
  EXPECT_EQ(hex(encoded(AuthPacket{}, kV5)), "f000");
}

TEST(EncodeTest, V311IgnoresV5OnlyFields) {
  DisconnectPacket d;
  d.reason_code = 0x8E;
  d.properties.reason_string = "x";
  EXPECT_EQ(hex(encoded(d, kV311)), "e000");
  AckPacket a;
  a.packet_id = 3;
  a.reason_code = 0x80;
  a.properties = ack_props();
  EXPECT_EQ(hex(encoded(a, kV311)), "40020003");
  SubscribePacket s;
  s.packet_id = 1;
  s.subscriptions.push_back({"a", 2, true, true, 2});
  s.properties.subscription_identifiers = {5};
  EXPECT_EQ(hex(encoded(s, kV311)), hex(frame(0x82, Bytes().u16(1).str("a").u8(2))));
  UnsubackPacket u;
  u.packet_id = 2;
  u.reason_codes = {0x11};
  EXPECT_EQ(hex(encoded(u, kV311)), "b0020002");
}

TEST(EncodeTest, V5AckShortForms) {
  AckPacket a;
  a.type = PacketType::kPubrel;
  a.packet_id = 0x0102;
  EXPECT_EQ(hex(encoded(a, kV5)), "62020102");  // reason 0, no properties: omitted
  a.reason_code = reason::kPacketIdentifierNotFound;
  EXPECT_EQ(hex(encoded(a, kV5)), "6203010292");  // no properties: property length omitted
  a.properties.reason_string = "r";
  EXPECT_EQ(hex(encoded(a, kV5)), "6208010292041f000172");
  a.reason_code = 0;
  EXPECT_EQ(hex(encoded(a, kV5)), "6208010200041f000172");
}

TEST(EncodeTest, V5DisconnectAndAuthForms) {
  DisconnectPacket d;
  d.reason_code = reason::kServerShuttingDown;
  EXPECT_EQ(hex(encoded(d, kV5)), "e0018b");
  d.properties.session_expiry_interval = 1;
  EXPECT_EQ(hex(encoded(d, kV5)), "e0078b051100000001");
  AuthPacket a;
  a.reason_code = reason::kReauthenticate;
  EXPECT_EQ(hex(encoded(a, kV5)), "f00119");
}

TEST(EncodeTest, SubscribeOptionsByte) {
  SubscribePacket s;
  s.packet_id = 1;
  s.subscriptions.push_back({"a", 1, true, true, 2});
  EXPECT_EQ(hex(encoded(s, kV5)), hex(frame(0x82, Bytes().u16(1).u8(0).str("a").u8(0x2D))));
}

TEST(EncodeTest, AppendsToOutput) {
  std::string out = "prefix";
  encode(PingreqPacket{}, &out);
  EXPECT_EQ(out, std::string("prefix\xC0\x00", 8));
}

// ---- Round trips --------------------------------------------------------------------------

TEST(RoundTripTest, ConnectV311) {
  ConnectPacket c;
  c.client_id = "client";
  expect_roundtrip(c, kV311);
  c.clean_start = false;
  c.keep_alive = 0xFFFF;
  c.will = Will{"will/topic", std::string("\x00\x01\x02", 3), 2, true, {}};
  c.username = "user";
  c.password = std::string("\xFF\x00", 2);
  expect_roundtrip(c, kV311);
  c.will->qos = 0;
  c.will->retain = false;
  c.password.reset();
  c.client_id = "";
  expect_roundtrip(c, kV311);
}

TEST(RoundTripTest, ConnectV5) {
  ConnectPacket c;
  c.version = kV5;
  c.client_id = "c5";
  expect_roundtrip(c, kV5);
  c.keep_alive = 120;
  c.properties = user_props();
  c.properties.session_expiry_interval = 0xFFFFFFFF;
  c.properties.receive_maximum = 100;
  c.properties.maximum_packet_size = 1 << 20;
  c.properties.topic_alias_maximum = 0;
  c.properties.request_problem_information = 0;
  c.properties.request_response_information = 1;
  c.properties.authentication_method = "PLAIN";
  c.properties.authentication_data = std::string("\x00user\x00pass", 10);
  Will w;
  w.topic = "dev/1/state";
  w.payload = "gone";
  w.qos = 1;
  w.properties = user_props();
  w.properties.will_delay_interval = 30;
  w.properties.payload_format_indicator = 1;
  w.properties.message_expiry_interval = 3600;
  w.properties.content_type = "text/plain";
  w.properties.response_topic = "reply/here";
  w.properties.correlation_data = "corr";
  c.will = w;
  c.password = "only-password";
  expect_roundtrip(c, kV5);
  // CONNECT carries its own version: decoding under a 3.1.1 connection changes nothing.
  std::string wire;
  encode(c, &wire);
  Result<Packet> r = decode_wire(wire, kV311);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(dump(*r), dump(c));
}

TEST(RoundTripTest, Connack) {
  ConnackPacket c;
  expect_roundtrip(c, kV311);
  c.session_present = true;
  c.reason_code = connack_v311::kServerUnavailable;
  expect_roundtrip(c, kV311);
  expect_roundtrip(c, kV5);
  c.reason_code = 0;
  c.properties = user_props();
  c.properties.session_expiry_interval = 10;
  c.properties.assigned_client_identifier = "auto-xyz";
  c.properties.server_keep_alive = 30;
  c.properties.authentication_method = "m";
  c.properties.authentication_data = "d";
  c.properties.response_information = "resp";
  c.properties.server_reference = "other:1883";
  c.properties.reason_string = "ok";
  c.properties.receive_maximum = 65535;
  c.properties.topic_alias_maximum = 10;
  c.properties.maximum_qos = 1;
  c.properties.retain_available = 0;
  c.properties.maximum_packet_size = 268'435'460;
  c.properties.wildcard_subscription_available = 1;
  c.properties.subscription_identifier_available = 0;
  c.properties.shared_subscription_available = 1;
  expect_roundtrip(c, kV5);
}

TEST(RoundTripTest, Publish) {
  const std::string big(70'000, 'p');
  for (ProtocolVersion v : {kV311, kV5}) {
    for (uint8_t qos : {0, 1, 2}) {
      PublishPacket p;
      p.topic = "a/b/c";
      p.payload = "data";
      p.qos = qos;
      p.retain = qos == 1;
      p.dup = qos == 2;
      p.packet_id = qos > 0 ? 65535 : 0;
      expect_roundtrip(p, v);
      p.payload = "";
      expect_roundtrip(p, v);
      p.payload = big;
      expect_roundtrip(p, v);
    }
  }
}

TEST(RoundTripTest, PublishV5Properties) {
  PublishPacket p;
  p.topic = "t";
  p.payload = "{}";
  p.qos = 1;
  p.packet_id = 1;
  p.properties = user_props();
  p.properties.payload_format_indicator = 1;
  p.properties.message_expiry_interval = 0;
  p.properties.content_type = "application/json";
  p.properties.response_topic = "resp/t";
  p.properties.correlation_data = std::string("\x00\x01", 2);
  p.properties.subscription_identifiers = {1, 127, 128, 16'383, 16'384, 268'435'455};
  p.properties.topic_alias = 5;
  expect_roundtrip(p, kV5);
  p.topic = "";  // allowed with a topic alias
  expect_roundtrip(p, kV5);
}

TEST(RoundTripTest, Acks) {
  for (PacketType t :
       {PacketType::kPuback, PacketType::kPubrec, PacketType::kPubrel, PacketType::kPubcomp}) {
    AckPacket a;
    a.type = t;
    a.packet_id = 77;
    expect_roundtrip(a, kV311);
    expect_roundtrip(a, kV5);
    a.reason_code = reason::kPacketIdentifierNotFound;
    expect_roundtrip(a, kV5);
    a.properties = ack_props();
    expect_roundtrip(a, kV5);
    a.reason_code = 0;
    expect_roundtrip(a, kV5);
  }
}

TEST(RoundTripTest, Subscribe) {
  SubscribePacket s;
  s.packet_id = 12;
  s.subscriptions.push_back({"a/+/b", 0});
  s.subscriptions.push_back({"#", 1});
  s.subscriptions.push_back({"$share/g/a/+", 2});
  s.subscriptions.push_back({"$SYS/#", 0});
  expect_roundtrip(s, kV311);
  s.subscriptions[0].no_local = true;
  s.subscriptions[1].retain_as_published = true;
  s.subscriptions[1].retain_handling = 2;
  s.subscriptions[3].retain_handling = 1;
  s.properties = user_props();
  s.properties.subscription_identifiers = {99};
  expect_roundtrip(s, kV5);
}

TEST(RoundTripTest, Suback) {
  SubackPacket s;
  s.packet_id = 1;
  s.reason_codes = {reason::kGrantedQos0, reason::kGrantedQos1, reason::kGrantedQos2, 0x80};
  expect_roundtrip(s, kV311);
  s.reason_codes.push_back(reason::kSharedSubscriptionsNotSupported);
  s.properties = ack_props();
  expect_roundtrip(s, kV5);
}

TEST(RoundTripTest, Unsubscribe) {
  UnsubscribePacket u;
  u.packet_id = 65535;
  u.filters = {"a/#", "+", "$share/g/+/x"};
  expect_roundtrip(u, kV311);
  u.properties = user_props();
  expect_roundtrip(u, kV5);
}

TEST(RoundTripTest, Unsuback) {
  UnsubackPacket u;
  u.packet_id = 8;
  expect_roundtrip(u, kV311);
  u.reason_codes = {reason::kSuccess, reason::kNoSubscriptionExisted};
  expect_roundtrip(u, kV5);
  u.properties = ack_props();
  expect_roundtrip(u, kV5);
}

TEST(RoundTripTest, Pings) {
  for (ProtocolVersion v : {kV311, kV5}) {
    expect_roundtrip(PingreqPacket{}, v);
    expect_roundtrip(PingrespPacket{}, v);
  }
}

TEST(RoundTripTest, Disconnect) {
  DisconnectPacket d;
  expect_roundtrip(d, kV311);
  expect_roundtrip(d, kV5);
  d.reason_code = reason::kDisconnectWithWill;
  expect_roundtrip(d, kV5);
  d.properties = ack_props();
  d.properties.session_expiry_interval = 0;
  d.properties.server_reference = "elsewhere";
  expect_roundtrip(d, kV5);
}

TEST(RoundTripTest, Auth) {
  AuthPacket a;
  expect_roundtrip(a, kV5);
  a.reason_code = reason::kContinueAuthentication;
  expect_roundtrip(a, kV5);
  a.properties = ack_props();
  a.properties.authentication_method = "SCRAM-SHA-256";
  a.properties.authentication_data = std::string("\x01\x02\x00", 3);
  expect_roundtrip(a, kV5);
}

// ---- PUBLISH header helpers ---------------------------------------------------------------

PublishPacket sample_publish(std::string_view payload, uint8_t qos) {
  PublishPacket p;
  p.topic = "sensors/42/temp";
  p.payload = payload;
  p.qos = qos;
  p.packet_id = qos > 0 ? 9 : 0;
  p.retain = true;
  return p;
}

TEST(PublishHeaderTest, HeaderPlusPayloadEqualsEncode) {
  // Payload sizes chosen so that the remaining length crosses every varint boundary.
  for (size_t n : {size_t{0}, size_t{1}, size_t{100}, size_t{127}, size_t{16'300}, size_t{16'400},
                   size_t{2'097'100}, size_t{2'097'200}}) {
    const std::string payload(n, 'x');
    for (ProtocolVersion v : {kV311, kV5}) {
      for (uint8_t qos : {0, 1, 2}) {
        PublishPacket p = sample_publish(payload, qos);
        if (v == kV5 && qos == 1) {
          p.properties.message_expiry_interval = 5;
          p.properties.subscription_identifiers = {3};
        }
        std::string whole;
        encode(p, v, &whole);
        std::string header;
        encode_publish_header(p, v, &header);
        ASSERT_EQ(header.size() + payload.size(), whole.size()) << n;
        EXPECT_TRUE(std::string_view(whole).starts_with(header)) << n;
        EXPECT_EQ(header + payload, whole) << n;
        EXPECT_EQ(encoded_publish_size(p, v), whole.size()) << n;
      }
    }
  }
}

TEST(PublishHeaderTest, SizeMatchesForAllRemainingLengthWidths) {
  struct Case {
    size_t payload;
    size_t header_bytes;
  };
  // 3.1.1 QoS 0, topic "t": remaining = 3 + payload.
  for (Case c : {Case{124, 2}, Case{125, 3}, Case{16'380, 3}, Case{16'381, 4}, Case{2'097'148, 4},
                 Case{2'097'149, 5}}) {
    const std::string payload(c.payload, 'y');
    PublishPacket p;
    p.topic = "t";
    p.payload = payload;
    EXPECT_EQ(encoded_publish_size(p, kV311), c.header_bytes + 3 + c.payload) << c.payload;
    std::string header;
    encode_publish_header(p, kV311, &header);
    EXPECT_EQ(header.size(), c.header_bytes + 3) << c.payload;
    FrameHeader h;
    ASSERT_TRUE(parse_frame_header(header, codec_test::kNoLimit, &h).is_ok());
    EXPECT_EQ(h.header_size, c.header_bytes);
    EXPECT_EQ(h.remaining_length, 3 + c.payload);
  }
}

TEST(PublishHeaderTest, HeaderHasFlagBits) {
  PublishPacket p;
  p.topic = "t";
  p.qos = 2;
  p.dup = true;
  p.retain = true;
  p.packet_id = 1;
  std::string header;
  encode_publish_header(p, kV311, &header);
  EXPECT_EQ(static_cast<uint8_t>(header[0]), 0x3D);
}

}  // namespace
}  // namespace topicdb::mqtt
