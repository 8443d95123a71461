// Malformed input on a raw socket: the broker must close that connection (MQTT-4.8.0-1 and
// the specific rules cited per case) and keep serving everybody else. A Paho "bystander"
// connected before the bad input must still be able to publish and receive afterwards, and
// new clients must still be able to connect.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/fixture.h"
#include "tests/integration/paho_client.h"
#include "tests/integration/raw_client.h"

namespace topicdb::itest {
namespace {

using std::chrono::milliseconds;

class MalformedTest : public BrokerTest {
 protected:
  void SetUp() override {
    BrokerTest::SetUp();
    if (HasFatalFailure()) return;
    bystander_ = std::make_unique<PahoClient>(port(), "bystander");
    ASSERT_TRUE(bystander_->connect());
    ASSERT_TRUE(bystander_->subscribe("bystander/t", 1));
  }

  void TearDown() override {
    if (!bystander_) return;
    EXPECT_TRUE(broker_.running()) << "the broker process died";
    EXPECT_TRUE(bystander_->is_connected())
        << "an unrelated, already-connected client was disconnected";
    EXPECT_TRUE(bystander_->publish("bystander/t", "still alive", 1));
    auto msg = bystander_->receive(milliseconds(3000));
    EXPECT_TRUE(msg) << "the bystander can no longer receive";
    RawClient fresh;
    ConnectSpec spec;
    spec.client_id = "fresh-after-malformed";
    EXPECT_TRUE(fresh.mqtt_connect(port(), spec)) << "new connections are no longer accepted";
    bystander_.reset();
  }

  // Connects (optionally with a valid CONNECT first), sends `bytes`, and collects whatever the
  // broker sends until it closes the connection (3 s). Returns whether it closed.
  bool send_and_wait_closed(RawClient& raw, const Bytes& bytes, bool connect_first,
                            std::vector<Packet>* replies) {
    if (connect_first) {
      ConnectSpec spec;
      spec.client_id = "offender";
      EXPECT_TRUE(raw.mqtt_connect(port(), spec));
    } else {
      EXPECT_TRUE(raw.connect(port()));
    }
    // The broker may close before everything was written; that is fine.
    (void)raw.send(bytes);
    auto deadline = std::chrono::steady_clock::now() + milliseconds(3000);
    while (std::chrono::steady_clock::now() < deadline) {
      auto left =
          std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
      auto packet = raw.recv_packet(left);
      if (!packet) break;
      replies->push_back(*packet);
    }
    return raw.peer_closed();
  }

  std::unique_ptr<PahoClient> bystander_;
};

struct MalformedCase {
  std::string name;
  std::string rule;
  bool connect_first;
  Bytes bytes;
};

// Short gtest output for parameters (instead of a byte dump of the struct).
void PrintTo(const MalformedCase& c, std::ostream* os) { *os << c.name << " [" << c.rule << "]"; }

Bytes concat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

ConnectSpec valid_connect(const std::string& id = "bad-connect") {
  ConnectSpec spec;
  spec.client_id = id;
  return spec;
}

std::vector<MalformedCase> malformed_cases() {
  std::vector<MalformedCase> cases;
  auto add = [&](std::string name, std::string rule, bool connect_first, Bytes bytes) {
    cases.push_back({std::move(name), std::move(rule), connect_first, std::move(bytes)});
  };
  // --- First packet ---------------------------------------------------------------------
  add("HttpRequestAsFirstBytes", "MQTT-3.1.0-1", false,
      to_bytes("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  add("PingreqBeforeConnect", "MQTT-3.1.0-1", false, pingreq_packet());
  add("PublishBeforeConnect", "MQTT-3.1.0-1", false, publish_packet("a/b", "x"));
  add("SubscribeBeforeConnect", "MQTT-3.1.0-1", false, subscribe_packet(1, {{"a", 0}}));
  add("RemainingLengthOfFiveBytes", "MQTT 2.2.3 (at most 4 bytes)", false,
      Bytes{0x10, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F});
  add("OversizedConnect", "max packet size 1 MiB (contract)", false,
      concat(Bytes{0x10},
             concat(encode_remaining_length(200 * 1024 * 1024), to_bytes("\0\4MQTT"))));
  {
    ConnectSpec spec = valid_connect();
    spec.header_flags = 0x01;
    add("ConnectReservedHeaderFlags", "MQTT-2.2.2-2", false, connect_packet(spec));
  }
  {
    ConnectSpec spec = valid_connect();
    spec.extra_flags = 0x01;
    add("ConnectReservedFlagBit", "MQTT-3.1.2-3", false, connect_packet(spec));
  }
  {
    ConnectSpec spec = valid_connect();
    spec.extra_flags = 0x08;  // will QoS 1 without will flag
    add("ConnectWillQosWithoutWillFlag", "MQTT-3.1.2-13", false, connect_packet(spec));
  }
  {
    ConnectSpec spec = valid_connect();
    spec.extra_flags = 0x20;  // will retain without will flag
    add("ConnectWillRetainWithoutWillFlag", "MQTT-3.1.2-15", false, connect_packet(spec));
  }
  {
    ConnectSpec spec = valid_connect();
    spec.will = Will{"will/t", "x", 3, false};
    add("ConnectWillQos3", "MQTT-3.1.2-14", false, connect_packet(spec));
  }
  {
    ConnectSpec spec = valid_connect();
    spec.password = "secret";
    add("ConnectPasswordWithoutUsername", "MQTT-3.1.2-22", false, connect_packet(spec));
  }
  {
    // Client id length prefix says 50 bytes, the packet ends after 3.
    Bytes body;
    append_string(body, "MQTT");
    body.push_back(4);
    body.push_back(0x02);
    append_u16(body, 60);
    append_u16(body, 50);
    body.insert(body.end(), {'a', 'b', 'c'});
    add("ConnectTruncatedClientId", "MQTT 1.5.3 / 3.1.3 (malformed)", false,
        make_packet(0x10, body));
  }
  // --- After a successful CONNECT --------------------------------------------------------
  add("SecondConnect", "MQTT-3.1.0-2", true, connect_packet(valid_connect("offender")));
  add("PublishQos3", "MQTT-3.3.1-4", true, Bytes{0x36, 0x05, 0x00, 0x01, 'a', 0x00, 0x01});
  add("PublishInvalidUtf8Topic", "MQTT-1.5.3-1", true,
      publish_packet(std::string("bad/\xC3\x28", 6), "x", 0));
  add("PublishUtf16SurrogateInTopic", "MQTT-1.5.3-1", true,
      publish_packet(std::string("bad/\xED\xA0\x80", 7), "x", 0));
  add("PublishNulInTopic", "MQTT-1.5.3-2", true,
      publish_packet(std::string("bad/\0/t", 7), "x", 0));
  add("PublishPlusWildcardInTopic", "MQTT-3.3.2-2", true, publish_packet("a/+/b", "x", 0));
  add("PublishHashWildcardInTopic", "MQTT-3.3.2-2", true, publish_packet("a/#", "x", 0));
  add("PublishEmptyTopic", "MQTT-4.7.3-1", true, publish_packet("", "x", 0));
  add("PublishQos1PacketIdZero", "MQTT-2.3.1-1", true,
      publish_packet("a/b", "x", 1, false, false, 0));
  add("PublishTopicLongerThanPacket", "MQTT 2.2.3 / 1.5.3 (malformed)", true,
      Bytes{0x30, 0x04, 0x00, 0x64, 'a', 'b'});
  add("PublishOversizedRemainingLength", "max packet size 1 MiB (contract)", true,
      concat(Bytes{0x30},
             concat(encode_remaining_length(2 * 1024 * 1024), Bytes{0x00, 0x01, 'a'})));
  add("SubscribeReservedFlags", "MQTT-3.8.1-1", true,
      subscribe_packet(1, {{"a/b", 0}}, /*header_flags=*/0x00));
  add("SubscribeNoFilters", "MQTT-3.8.3-3", true, subscribe_packet(1, {}));
  add("SubscribeQos3", "MQTT-3-8.3-4", true, subscribe_packet(1, {{"a/b", 3}}));
  add("SubscribePacketIdZero", "MQTT-2.3.1-1", true, subscribe_packet(0, {{"a/b", 0}}));
  add("SubscribeInvalidUtf8Filter", "MQTT-1.5.3-1", true,
      subscribe_packet(1, {{std::string("a/\xFF", 3), 0}}));
  add("UnsubscribeReservedFlags", "MQTT-3.10.1-1", true,
      make_packet(0xA0, Bytes{0x00, 0x01, 0x00, 0x01, 'a'}));
  add("UnsubscribeNoFilters", "MQTT-3.10.3-2", true, unsubscribe_packet(1, {}));
  add("PubrelReservedFlags", "MQTT-3.6.1-1", true, pubrel_packet(1, /*header_flags=*/0x00));
  add("PingreqReservedFlags", "MQTT-2.2.2-2", true, Bytes{0xC1, 0x00});
  add("ConnackFromClient", "MQTT-4.8.0-1 (server-to-client packet)", true,
      Bytes{0x20, 0x02, 0x00, 0x00});
  add("ReservedPacketType0", "MQTT 2.2.1 (reserved, forbidden)", true, Bytes{0x00, 0x00});
  add("ReservedPacketType15", "MQTT 2.2.1 (reserved, forbidden)", true, Bytes{0xF0, 0x00});
  return cases;
}

class MalformedPacketTest : public MalformedTest,
                            public ::testing::WithParamInterface<MalformedCase> {};

TEST_P(MalformedPacketTest, ClosesOnlyThatConnection) {
  const MalformedCase& c = GetParam();
  RawClient raw;
  std::vector<Packet> replies;
  bool closed = send_and_wait_closed(raw, c.bytes, c.connect_first, &replies);
  EXPECT_TRUE(closed) << c.name << " (" << c.rule << "): connection not closed within 3 s after "
                      << hex(c.bytes);
  for (const auto& reply : replies) {
    ADD_FAILURE() << c.name << " (" << c.rule << "): unexpected reply " << describe(reply);
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, MalformedPacketTest, ::testing::ValuesIn(malformed_cases()),
                         [](const ::testing::TestParamInfo<MalformedCase>& param_info) {
                           return param_info.param.name;
                         });

// MQTT-3.1.2-2: unsupported protocol level => CONNACK 0x01, then close. Level 3 is MQTT 3.1
// only under its own name "MQIsdp" (mqtt31_test.cc); with "MQTT" it is refused.
TEST_F(MalformedTest, ConnectProtocolLevel3GetsConnack1ThenClose) {
  RawClient raw;
  ConnectSpec spec = valid_connect("old-client");
  spec.protocol_level = 3;
  std::vector<Packet> replies;
  EXPECT_TRUE(send_and_wait_closed(raw, connect_packet(spec), false, &replies));
  ASSERT_EQ(replies.size(), 1u) << "expected exactly one CONNACK";
  EXPECT_EQ(replies[0].type(), kConnack) << describe(replies[0]);
  EXPECT_EQ(replies[0].body, (Bytes{0x00, 0x01})) << describe(replies[0]);
}

// Ill-formed client id: close (MQTT-1.5.3-1), optionally after CONNACK 0x02.
TEST_F(MalformedTest, InvalidUtf8ClientIdIsRejected) {
  RawClient raw;
  ConnectSpec spec = valid_connect(std::string("id\xFF\xFE", 4));
  std::vector<Packet> replies;
  EXPECT_TRUE(send_and_wait_closed(raw, connect_packet(spec), false, &replies));
  for (const auto& reply : replies) {
    EXPECT_TRUE(reply.type() == kConnack && reply.body.size() == 2 && reply.body[1] == 0x02)
        << "only CONNACK 0x02 may precede the close, got " << describe(reply);
  }
}

// Invalid topic filters (MQTT 4.7.1): either SUBACK failure 0x80 or the connection is closed.
TEST_F(MalformedTest, InvalidTopicFiltersAreRefused) {
  for (const std::string filter : {"a/#/b", "a/b#", "a+/b", "#/a", ""}) {
    RawClient raw;
    std::vector<Packet> replies;
    bool closed = send_and_wait_closed(raw, subscribe_packet(7, {{filter, 1}}), true, &replies);
    if (closed && replies.empty()) continue;
    ASSERT_FALSE(replies.empty()) << "filter '" << filter << "': neither closed nor answered";
    const Packet& suback = replies[0];
    EXPECT_EQ(suback.type(), kSuback) << "filter '" << filter << "': " << describe(suback);
    EXPECT_EQ(suback.body, (Bytes{0x00, 0x07, 0x80}))
        << "filter '" << filter << "' must be refused with 0x80, got " << describe(suback);
  }
}

// A truncated packet followed by a hang-up must not disturb anybody.
TEST_F(MalformedTest, PartialPacketThenHangUp) {
  Bytes connect = connect_packet(valid_connect("half"));
  RawClient raw;
  ASSERT_TRUE(raw.connect(port()));
  ASSERT_TRUE(raw.send(Bytes(connect.begin(), connect.begin() + 7)));
  std::this_thread::sleep_for(milliseconds(100));
  raw.close();
  RawClient raw2;
  ASSERT_TRUE(raw2.mqtt_connect(port(), valid_connect("ok")));
  ASSERT_TRUE(raw2.send(Bytes{0x30, 0x7F, 0x00}));  // PUBLISH header promising 127 bytes
  raw2.close();
}

// Framing: a CONNECT dribbled one byte at a time is still a valid CONNECT.
TEST_F(MalformedTest, ConnectSentOneByteAtATimeIsAccepted) {
  Bytes connect = connect_packet(valid_connect("dribble"));
  RawClient raw;
  ASSERT_TRUE(raw.connect(port()));
  for (uint8_t b : connect) {
    ASSERT_TRUE(raw.send(Bytes{b}));
    std::this_thread::sleep_for(milliseconds(5));
  }
  auto packet = raw.recv_packet(milliseconds(3000));
  ASSERT_TRUE(packet);
  EXPECT_EQ(packet->type(), kConnack);
  EXPECT_EQ(packet->body, (Bytes{0x00, 0x00}));
}

// Framing: several packets in one TCP segment are all processed, in order.
TEST_F(MalformedTest, SeveralPacketsInOneWriteAreAllProcessed) {
  Bytes all = connect_packet(valid_connect("batch"));
  all = concat(all, subscribe_packet(3, {{"batch/t", 1}}));
  all = concat(all, publish_packet("batch/t", "self", 1, false, false, 9));
  all = concat(all, pingreq_packet());
  RawClient raw;
  ASSERT_TRUE(raw.connect(port()));
  ASSERT_TRUE(raw.send(all));
  std::vector<uint8_t> types;
  while (types.size() < 5) {
    auto packet = raw.recv_packet(milliseconds(3000));
    if (!packet) break;
    types.push_back(packet->type());
    if (packet->type() == kPublish) {
      auto view = parse_publish(*packet);
      ASSERT_TRUE(view);
      EXPECT_EQ(view->payload, "self");
      ASSERT_TRUE(raw.send(puback_packet(view->packet_id)));
    }
  }
  // CONNACK, SUBACK, then PUBACK / PUBLISH / PINGRESP (the last three may interleave).
  ASSERT_EQ(types.size(), 5u);
  EXPECT_EQ(types[0], kConnack);
  EXPECT_EQ(types[1], kSuback);
  std::vector<uint8_t> rest(types.begin() + 2, types.end());
  std::sort(rest.begin(), rest.end());
  EXPECT_EQ(rest, (std::vector<uint8_t>{kPublish, kPuback, kPingresp}));
}

// Many misbehaving connections at once.
TEST_F(MalformedTest, ManyGarbageConnectionsAtOnce) {
  constexpr int kCount = 20;
  std::vector<std::unique_ptr<RawClient>> clients;
  for (int i = 0; i < kCount; ++i) {
    clients.push_back(std::make_unique<RawClient>());
    ASSERT_TRUE(clients.back()->connect(port()));
    Bytes garbage(64);
    for (size_t j = 0; j < garbage.size(); ++j) garbage[j] = static_cast<uint8_t>(i * 31 + j * 7);
    garbage[0] = 0x00;  // reserved type: never a CONNECT
    (void)clients.back()->send(garbage);
  }
  for (int i = 0; i < kCount; ++i) {
    EXPECT_TRUE(clients[i]->wait_closed(milliseconds(3000))) << "garbage connection " << i;
  }
}

}  // namespace
}  // namespace topicdb::itest
