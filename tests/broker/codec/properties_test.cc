// MQTT 5 properties: the per-packet allowed table (MQTT 5 §2.2.2.2), repetition rules,
// value rules, malformed blocks, and the encoder's layout.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

#include "broker/codec/codec.h"
#include "broker/codec/property_codec.h"
#include "tests/broker/codec/codec_test_util.h"

namespace topicdb::mqtt {
namespace {

using codec_test::Bytes;
using codec_test::decode_code;
using codec_test::decode_wire;
using codec_test::frame;
using Code = Status::Code;

using codec_test::kV5;

enum class Where {
  kConnect,
  kWill,
  kConnack,
  kPublish,
  kPuback,
  kPubrec,
  kPubrel,
  kPubcomp,
  kSubscribe,
  kSuback,
  kUnsubscribe,
  kUnsuback,
  kDisconnect,
  kAuth,
};

const char* name(Where w) {
  static const char* const kNames[] = {
      "CONNECT", "Will",      "CONNACK", "PUBLISH",     "PUBACK",   "PUBREC",     "PUBREL",
      "PUBCOMP", "SUBSCRIBE", "SUBACK",  "UNSUBSCRIBE", "UNSUBACK", "DISCONNECT", "AUTH"};
  return kNames[static_cast<int>(w)];
}

// A whole v5 packet of the given kind carrying `props` as its (only non-empty) property
// block; everything else minimal and valid.
std::string packet_with(Where w, const Bytes& props) {
  const Bytes none;
  auto connect = [](uint8_t flags) {
    Bytes b;
    b.str("MQTT").u8(5).u8(flags).u16(0);
    return b;
  };
  switch (w) {
    case Where::kConnect:
      return frame(0x10, connect(0x02).props(props).str("c"));
    case Where::kWill:
      return frame(0x10, connect(0x06).props(none).str("c").props(props).str("w/t").str("x"));
    case Where::kConnack:
      return frame(0x20, Bytes().u8(0).u8(0).props(props));
    case Where::kPublish:
      return frame(0x32, Bytes().str("t").u16(1).props(props).raw("payload"));
    case Where::kPuback:
      return frame(0x40, Bytes().u16(1).u8(0).props(props));
    case Where::kPubrec:
      return frame(0x50, Bytes().u16(1).u8(0).props(props));
    case Where::kPubrel:
      return frame(0x62, Bytes().u16(1).u8(0).props(props));
    case Where::kPubcomp:
      return frame(0x70, Bytes().u16(1).u8(0).props(props));
    case Where::kSubscribe:
      return frame(0x82, Bytes().u16(1).props(props).str("a/+").u8(1));
    case Where::kSuback:
      return frame(0x90, Bytes().u16(1).props(props).u8(0));
    case Where::kUnsubscribe:
      return frame(0xA2, Bytes().u16(1).props(props).str("a/+"));
    case Where::kUnsuback:
      return frame(0xB0, Bytes().u16(1).props(props).u8(0));
    case Where::kDisconnect:
      return frame(0xE0, Bytes().u8(0).props(props));
    case Where::kAuth:
      return frame(0xF0, Bytes().u8(0x18).props(props));
  }
  return "";
}

// One property with a valid value, as wire bytes (identifier included).
Bytes one_property(uint8_t id) {
  Bytes b;
  b.u8(id);
  switch (id) {
    case 0x01:
    case 0x17:
    case 0x19:
    case 0x24:
    case 0x25:
    case 0x28:
    case 0x29:
    case 0x2A:
      return b.u8(1);
    case 0x02:
    case 0x11:
    case 0x18:
    case 0x27:
      return b.u32(100);
    case 0x13:
    case 0x21:
    case 0x22:
    case 0x23:
      return b.u16(7);
    case 0x0B:
      return b.varint(300);
    case 0x03:
    case 0x08:
    case 0x12:
    case 0x15:
    case 0x1A:
    case 0x1C:
    case 0x1F:
      return b.str("text/x");
    case 0x09:
    case 0x16:
      return b.str(std::string("\x00\xFF", 2));
    case 0x26:
      return b.str("key").str("value");
  }
  ADD_FAILURE() << "unknown id " << int{id};
  return b;
}

const std::vector<uint8_t> kAllIds = {0x01, 0x02, 0x03, 0x08, 0x09, 0x0B, 0x11, 0x12, 0x13,
                                      0x15, 0x16, 0x17, 0x18, 0x19, 0x1A, 0x1C, 0x1F, 0x21,
                                      0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2A};

// MQTT 5 §2.2.2.2, transcribed row by row ("Used in" column), independent of the decoder.
std::map<uint8_t, std::set<Where>> spec_table() {
  using W = Where;
  const std::set<W> acks = {W::kPuback, W::kPubrec, W::kPubrel, W::kPubcomp};
  std::set<W> reason_string = acks;
  reason_string.insert({W::kConnack, W::kSuback, W::kUnsuback, W::kDisconnect, W::kAuth});
  std::set<W> user_property = reason_string;
  user_property.insert({W::kConnect, W::kWill, W::kPublish, W::kSubscribe, W::kUnsubscribe});
  return {
      {0x01, {W::kPublish, W::kWill}},
      {0x02, {W::kPublish, W::kWill}},
      {0x03, {W::kPublish, W::kWill}},
      {0x08, {W::kPublish, W::kWill}},
      {0x09, {W::kPublish, W::kWill}},
      {0x0B, {W::kPublish, W::kSubscribe}},
      {0x11, {W::kConnect, W::kConnack, W::kDisconnect}},
      {0x12, {W::kConnack}},
      {0x13, {W::kConnack}},
      {0x15, {W::kConnect, W::kConnack, W::kAuth}},
      {0x16, {W::kConnect, W::kConnack, W::kAuth}},
      {0x17, {W::kConnect}},
      {0x18, {W::kWill}},
      {0x19, {W::kConnect}},
      {0x1A, {W::kConnack}},
      {0x1C, {W::kConnack, W::kDisconnect}},
      {0x1F, reason_string},
      {0x21, {W::kConnect, W::kConnack}},
      {0x22, {W::kConnect, W::kConnack}},
      {0x23, {W::kPublish}},
      {0x24, {W::kConnack}},
      {0x25, {W::kConnack}},
      {0x26, user_property},
      {0x27, {W::kConnect, W::kConnack}},
      {0x28, {W::kConnack}},
      {0x29, {W::kConnack}},
      {0x2A, {W::kConnack}},
  };
}

// Where a property is allowed, for tests that need any valid place for it.
Where home_of(uint8_t id) { return *spec_table().at(id).begin(); }

// Authentication data needs an authentication method alongside it.
Bytes with_prerequisites(uint8_t id, Bytes b) {
  if (id != 0x16) return b;
  Bytes out = one_property(0x15);
  return out.raw(b.str());
}

TEST(PropertiesTest, AllowedTableMatchesSpec) {
  const auto table = spec_table();
  ASSERT_EQ(table.size(), kAllIds.size());
  for (uint8_t id : kAllIds) {
    for (int wi = 0; wi <= static_cast<int>(Where::kAuth); ++wi) {
      const auto w = static_cast<Where>(wi);
      const bool allowed = table.at(id).count(w) > 0;
      const std::string wire = packet_with(w, with_prerequisites(id, one_property(id)));
      const Result<Packet> r = decode_wire(wire, kV5);
      if (allowed) {
        EXPECT_TRUE(r.is_ok()) << "property 0x" << std::hex << int{id} << " in " << name(w) << ": "
                               << r.status().to_string();
      } else {
        // MQTT 5 §2.2.2.2: not valid for the packet type = malformed.
        EXPECT_EQ(r.status().code(), Code::kInvalidArgument)
            << "property 0x" << std::hex << int{id} << " in " << name(w);
      }
    }
  }
}

TEST(PropertiesTest, EveryPacketAcceptsEmptyBlock) {
  for (int wi = 0; wi <= static_cast<int>(Where::kAuth); ++wi) {
    const auto w = static_cast<Where>(wi);
    EXPECT_TRUE(decode_wire(packet_with(w, Bytes()), kV5).is_ok()) << name(w);
  }
}

TEST(PropertiesTest, RepeatedSingleUsePropertyIsProtocolError) {
  for (uint8_t id : kAllIds) {
    if (id == 0x26 || id == 0x0B) continue;  // may repeat; tested below
    Bytes twice = with_prerequisites(id, one_property(id));
    twice.raw(one_property(id).str());
    EXPECT_EQ(decode_code(packet_with(home_of(id), twice), kV5), Code::kProtocolError)
        << "property 0x" << std::hex << int{id};
  }
}

TEST(PropertiesTest, UserPropertiesRepeatInOrder) {
  Bytes props;
  props.u8(0x26).str("b").str("2").u8(0x26).str("a").str("1").u8(0x26).str("b").str("3");
  const std::string wire = packet_with(Where::kPuback, props);
  Result<Packet> r = decode_wire(wire, kV5);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  const auto& up = std::get<AckPacket>(*r).properties.user_properties;
  ASSERT_EQ(up.size(), 3u);
  EXPECT_EQ(up[0], (std::pair<std::string, std::string>{"b", "2"}));
  EXPECT_EQ(up[1], (std::pair<std::string, std::string>{"a", "1"}));
  EXPECT_EQ(up[2], (std::pair<std::string, std::string>{"b", "3"}));
}

TEST(PropertiesTest, SubscriptionIdentifierRepeatsOnlyInPublish) {
  Bytes two;
  two.u8(0x0B).varint(1).u8(0x0B).varint(2);
  Result<Packet> r = decode_wire(packet_with(Where::kPublish, two), kV5);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(std::get<PublishPacket>(*r).properties.subscription_identifiers,
            (std::vector<uint32_t>{1, 2}));
  EXPECT_EQ(decode_code(packet_with(Where::kSubscribe, two), kV5), Code::kProtocolError);
}

TEST(PropertiesTest, UnknownIdentifierIsMalformed) {
  for (uint8_t id :
       {0x00, 0x04, 0x05, 0x0A, 0x0C, 0x10, 0x14, 0x1B, 0x1D, 0x1E, 0x20, 0x2B, 0x7F}) {
    Bytes props;
    props.u8(id).u8(0);
    EXPECT_EQ(decode_code(packet_with(Where::kConnack, props), kV5), Code::kInvalidArgument)
        << int{id};
  }
  // Identifiers are variable byte integers: 0x80 0x01 is 128, which names no property; a
  // four-byte continuation run is not an integer at all.
  Bytes two_byte;
  two_byte.u8(0x80).u8(0x01).u8(0);
  EXPECT_EQ(decode_code(packet_with(Where::kConnack, two_byte), kV5), Code::kInvalidArgument);
  Bytes bad_varint;
  bad_varint.u8(0x80).u8(0x80).u8(0x80).u8(0x80);
  EXPECT_EQ(decode_code(packet_with(Where::kConnack, bad_varint), kV5), Code::kInvalidArgument);
}

TEST(PropertiesTest, FlagValuesMustBeZeroOrOne) {
  for (uint8_t id : {0x01, 0x17, 0x19, 0x24, 0x25, 0x28, 0x29, 0x2A}) {
    for (uint8_t v : {0, 1}) {
      Bytes ok;
      ok.u8(id).u8(v);
      EXPECT_TRUE(decode_wire(packet_with(home_of(id), ok), kV5).is_ok()) << int{id};
    }
    Bytes bad;
    bad.u8(id).u8(2);
    EXPECT_EQ(decode_code(packet_with(home_of(id), bad), kV5), Code::kProtocolError) << int{id};
    Bytes worse;
    worse.u8(id).u8(0xFF);
    EXPECT_EQ(decode_code(packet_with(home_of(id), worse), kV5), Code::kProtocolError);
  }
}

TEST(PropertiesTest, ZeroValuesThatAreProtocolErrors) {
  EXPECT_EQ(decode_code(packet_with(Where::kConnect, Bytes().u8(0x21).u16(0)), kV5),
            Code::kProtocolError);  // receive maximum
  EXPECT_EQ(decode_code(packet_with(Where::kConnack, Bytes().u8(0x21).u16(0)), kV5),
            Code::kProtocolError);
  EXPECT_EQ(decode_code(packet_with(Where::kConnect, Bytes().u8(0x27).u32(0)), kV5),
            Code::kProtocolError);  // maximum packet size
  EXPECT_EQ(decode_code(packet_with(Where::kPublish, Bytes().u8(0x0B).varint(0)), kV5),
            Code::kProtocolError);  // subscription identifier
  EXPECT_EQ(decode_code(packet_with(Where::kSubscribe, Bytes().u8(0x0B).varint(0)), kV5),
            Code::kProtocolError);
  EXPECT_EQ(decode_code(packet_with(Where::kPublish, Bytes().u8(0x23).u16(0)), kV5),
            Code::kProtocolError);  // topic alias
  // Zero is fine where the spec allows it.
  EXPECT_TRUE(decode_wire(packet_with(Where::kConnect, Bytes().u8(0x22).u16(0)), kV5).is_ok());
  EXPECT_TRUE(decode_wire(packet_with(Where::kConnect, Bytes().u8(0x11).u32(0)), kV5).is_ok());
}

TEST(PropertiesTest, SubscriptionIdentifierRange) {
  Result<Packet> r =
      decode_wire(packet_with(Where::kSubscribe, Bytes().u8(0x0B).varint(268'435'455)), kV5);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(std::get<SubscribePacket>(*r).properties.subscription_identifiers[0], 268'435'455u);
  // A fifth byte cannot be expressed: the variable byte integer is malformed.
  EXPECT_EQ(decode_code(packet_with(Where::kSubscribe,
                                    Bytes().u8(0x0B).u8(0xFF).u8(0xFF).u8(0xFF).u8(0xFF).u8(1)),
                        kV5),
            Code::kInvalidArgument);
}

TEST(PropertiesTest, AuthenticationDataNeedsMethod) {
  EXPECT_EQ(decode_code(packet_with(Where::kConnect, one_property(0x16)), kV5),
            Code::kProtocolError);
  EXPECT_EQ(decode_code(packet_with(Where::kAuth, one_property(0x16)), kV5), Code::kProtocolError);
}

TEST(PropertiesTest, ResponseTopicMustBeTopicName) {
  EXPECT_EQ(decode_code(packet_with(Where::kPublish, Bytes().u8(0x08).str("r/#")), kV5),
            Code::kProtocolError);  // MQTT-3.3.2-14
  EXPECT_EQ(decode_code(packet_with(Where::kWill, Bytes().u8(0x08).str("")), kV5),
            Code::kProtocolError);
}

TEST(PropertiesTest, BadUtf8IsMalformed) {
  EXPECT_EQ(decode_code(packet_with(Where::kPublish, Bytes().u8(0x03).str("\xC0\x80")), kV5),
            Code::kInvalidArgument);
  EXPECT_EQ(
      decode_code(packet_with(Where::kPuback, Bytes().u8(0x26).str("\xED\xA0\x80").str("v")), kV5),
      Code::kInvalidArgument);
  EXPECT_EQ(
      decode_code(packet_with(Where::kPuback, Bytes().u8(0x26).str("k").str(std::string("v\0", 2))),
                  kV5),
      Code::kInvalidArgument);
  EXPECT_EQ(decode_code(packet_with(Where::kPuback, Bytes().u8(0x1F).str("\xF4\x90\x80\x80")), kV5),
            Code::kInvalidArgument);
  // Binary data is not checked.
  EXPECT_TRUE(
      decode_wire(packet_with(Where::kPublish, Bytes().u8(0x09).str("\xC0\x80")), kV5).is_ok());
}

TEST(PropertiesTest, ValueRunningPastBlockIsMalformed) {
  // The property block says 3 bytes; the u32 value needs 4. The bytes after the block (the
  // payload) must not be borrowed.
  EXPECT_EQ(decode_code(frame(0x30, Bytes().str("t").u8(3).u8(0x02).u16(0).raw("payload")), kV5),
            Code::kInvalidArgument);
  EXPECT_EQ(decode_code(packet_with(Where::kPuback, Bytes().u8(0x1F).u16(10).raw("abc")), kV5),
            Code::kInvalidArgument);
  EXPECT_EQ(decode_code(packet_with(Where::kPuback, Bytes().u8(0x26).str("k")), kV5),
            Code::kInvalidArgument);
  EXPECT_EQ(decode_code(packet_with(Where::kPublish, Bytes().u8(0x0B).u8(0x80)), kV5),
            Code::kInvalidArgument);
}

TEST(PropertiesTest, BlockLengthPastPacketIsMalformed) {
  EXPECT_EQ(decode_code(frame(0x40, Bytes().u16(1).u8(0).u8(0x80).u8(0x01)), kV5),
            Code::kInvalidArgument);
  EXPECT_EQ(decode_code(frame(0x40, Bytes().u16(1).u8(0).u8(0xFF).u8(0xFF).u8(0xFF).u8(0xFF)), kV5),
            Code::kInvalidArgument);
}

TEST(PropertiesTest, ErrorsNameTheProperty) {
  Result<Packet> r = decode_wire(packet_with(Where::kPublish, Bytes().u8(0x23).u16(0)), kV5);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("0x23"), std::string::npos) << r.status().message();
  r = decode_wire(packet_with(Where::kPuback, Bytes().u8(0x2A).u8(1)), kV5);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("0x2a"), std::string::npos) << r.status().message();
}

TEST(PropertiesTest, EmptyReflectsEveryField) {
  Properties p;
  EXPECT_TRUE(p.empty());
  p.shared_subscription_available = 0;
  EXPECT_FALSE(p.empty());
  p = Properties();
  p.user_properties.emplace_back("k", "v");
  EXPECT_FALSE(p.empty());
  p = Properties();
  p.subscription_identifiers.push_back(1);
  EXPECT_FALSE(p.empty());
  p = Properties();
  p.payload_format_indicator = 0;
  EXPECT_FALSE(p.empty());
  p = Properties();
  p.maximum_packet_size = 1;
  EXPECT_FALSE(p.empty());
}

TEST(PropertiesTest, EncodesInIdentifierOrder) {
  Properties p;
  p.user_properties = {{"z", "1"}, {"a", "2"}};
  p.topic_alias = 0x0102;
  p.payload_format_indicator = 1;
  p.subscription_identifiers = {128};
  std::string out;
  encode_properties(p, &out);
  const Bytes expected = Bytes().props(Bytes()
                                           .u8(0x01)
                                           .u8(1)
                                           .u8(0x0B)
                                           .varint(128)
                                           .u8(0x23)
                                           .u16(0x0102)
                                           .u8(0x26)
                                           .str("z")
                                           .str("1")
                                           .u8(0x26)
                                           .str("a")
                                           .str("2"));
  EXPECT_EQ(codec_test::hex(out), codec_test::hex(expected.str()));
  EXPECT_EQ(properties_wire_size(p), out.size());
}

TEST(PropertiesTest, EmptyEncodesAsSingleZero) {
  std::string out;
  encode_properties(Properties(), &out);
  EXPECT_EQ(out, std::string(1, '\0'));
  EXPECT_EQ(properties_wire_size(Properties()), 1u);
}

TEST(PropertiesTest, LongBlockUsesMultiByteLength) {
  Properties p;
  p.reason_string = std::string(200, 'r');
  std::string out;
  encode_properties(p, &out);
  // 1 id + 2 length + 200 = 203 bytes of content: a 2-byte property length.
  ASSERT_EQ(out.size(), 205u);
  EXPECT_EQ(static_cast<uint8_t>(out[0]), 0xCB);
  EXPECT_EQ(static_cast<uint8_t>(out[1]), 0x01);
  EXPECT_EQ(properties_wire_size(p), 205u);
  WireReader r(out);
  Properties back;
  ASSERT_TRUE(decode_properties(&r, PropertyContext::kPubAck, &back).is_ok());
  EXPECT_EQ(back, p);
  EXPECT_TRUE(r.empty());
}

}  // namespace
}  // namespace topicdb::mqtt
