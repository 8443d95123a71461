// MQTT 5 topic aliases (§3.3.2.3.4) in both directions.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "tests/integration/v5_client.h"
#include "tests/integration/v5_tools.h"

namespace topicdb::itest::v5 {
namespace {

m::PublishPacket aliased(std::string_view topic, uint16_t alias, std::string_view payload,
                         uint8_t qos = 0, uint16_t packet_id = 0) {
  m::PublishPacket p;
  p.topic = topic;
  p.payload = payload;
  p.qos = qos;
  p.packet_id = packet_id;
  p.properties.topic_alias = alias;
  return p;
}

class V5TopicAliasTest : public V5Test {
 protected:
  std::vector<std::string> v5_flags() const override { return {"--topic-alias-maximum", "4"}; }
};

// Inbound: topic + alias 1 sets the mapping, then an empty topic + alias 1 uses it; both reach
// the subscriber under the full topic name.
TEST_F(V5TopicAliasTest, InboundAliasIsResolved) {
  V5Client sub(port());
  ASSERT_TRUE(sub.connect("alias-sub"));
  ASSERT_TRUE(sub.subscribe("alias/in/t", 1));
  V5Client pub(port());
  m::ConnackPacket ack;
  ASSERT_TRUE(pub.connect(V5Client::connect_packet("alias-pub"), &ack));
  ASSERT_EQ(ack.properties.topic_alias_maximum, std::optional<uint16_t>(4));

  ASSERT_TRUE(pub.send(aliased("alias/in/t", 1, "first", 1, 1)));
  auto a1 = pub.recv_type(m::PacketType::kPuback);
  ASSERT_TRUE(a1) << "no PUBACK for the alias-setting PUBLISH";
  ASSERT_TRUE(pub.send(aliased("", 1, "second", 1, 2)));
  auto a2 = pub.recv_type(m::PacketType::kPuback);
  ASSERT_TRUE(a2) << "no PUBACK for the alias-using PUBLISH" << pub.pending_text();
  EXPECT_EQ(a2->get<m::AckPacket>()->reason_code, 0) << describe(*a2);

  std::vector<Message> got;
  ASSERT_TRUE(sub.recv_publishes(2, &got));
  EXPECT_EQ(got[0].topic, "alias/in/t");
  EXPECT_EQ(got[0].payload, "first");
  EXPECT_EQ(got[1].topic, "alias/in/t");
  EXPECT_EQ(got[1].payload, "second");
  // The subscriber did not ask for aliases, so none are sent to it (MQTT-3.1.2-26/27).
  EXPECT_FALSE(got[0].props.topic_alias.has_value());
  EXPECT_FALSE(got[1].props.topic_alias.has_value());
}

// A mapping can be changed by sending the alias with another topic.
TEST_F(V5TopicAliasTest, InboundAliasCanBeRemapped) {
  V5Client sub(port());
  ASSERT_TRUE(sub.connect("remap-sub"));
  ASSERT_TRUE(sub.subscribe("alias/re/#", 0));
  V5Client pub(port());
  ASSERT_TRUE(pub.connect("remap-pub"));
  ASSERT_TRUE(pub.send(aliased("alias/re/a", 2, "1")));
  ASSERT_TRUE(pub.send(aliased("alias/re/b", 2, "2")));
  ASSERT_TRUE(pub.send(aliased("", 2, "3")));
  std::vector<Message> got;
  ASSERT_TRUE(sub.recv_publishes(3, &got));
  EXPECT_EQ(got[0].topic, "alias/re/a");
  EXPECT_EQ(got[1].topic, "alias/re/b");
  EXPECT_EQ(got[2].topic, "alias/re/b");
}

// Aliases are per connection (MQTT-3.3.2-7): a new connection cannot use an old mapping.
TEST_F(V5TopicAliasTest, AliasMappingDoesNotSurviveReconnect) {
  {
    V5Client pub(port());
    ASSERT_TRUE(pub.connect("alias-reconnect", true, 60));
    ASSERT_TRUE(pub.send(aliased("alias/old", 1, "x")));
    ASSERT_TRUE(pub.ping());
    ASSERT_TRUE(pub.disconnect());
  }
  V5Client pub(port());
  ASSERT_TRUE(pub.connect("alias-reconnect", false, 60));
  ASSERT_TRUE(pub.send(aliased("", 1, "y")));
  EXPECT_TRUE(pub.expect_disconnect(m::reason::kProtocolError));
}

// MQTT-3.3.2-9: an alias above the Topic Alias Maximum from CONNACK -> DISCONNECT 0x94
// ("Topic Alias invalid ... greater than the Maximum Topic Alias it sent", §3.14.2.1).
TEST_F(V5TopicAliasTest, AliasAboveMaximumIsTopicAliasInvalid) {
  V5Client pub(port());
  ASSERT_TRUE(pub.connect("alias-big"));
  ASSERT_TRUE(pub.send(aliased("alias/big", 5, "x")));
  EXPECT_TRUE(pub.expect_disconnect(m::reason::kTopicAliasInvalid));
}

// MQTT-3.3.2-8: alias 0 is not permitted. The spec names 0x94 only for aliases above the
// maximum; for 0 a Protocol Error (0x82, §4.13) is as valid. Either way: DISCONNECT + close.
TEST_F(V5TopicAliasTest, AliasZeroIsRejected) {
  V5Client pub(port());
  ASSERT_TRUE(pub.connect("alias-zero"));
  ASSERT_TRUE(pub.send(aliased("alias/zero", 0, "x")));
  uint8_t got = 0;
  EXPECT_TRUE(
      pub.expect_disconnect_any({m::reason::kTopicAliasInvalid, m::reason::kProtocolError}, &got));
}

// §3.3.2.3.4: an empty topic with an alias that has no mapping is a Protocol Error (0x82).
TEST_F(V5TopicAliasTest, UnknownAliasWithEmptyTopicIsProtocolError) {
  V5Client pub(port());
  ASSERT_TRUE(pub.connect("alias-unknown"));
  ASSERT_TRUE(pub.send(aliased("", 3, "x")));
  EXPECT_TRUE(pub.expect_disconnect(m::reason::kProtocolError));
}

class V5TopicAliasDisabledTest : public V5Test {
 protected:
  std::vector<std::string> v5_flags() const override { return {"--topic-alias-maximum", "0"}; }
};

// With --topic-alias-maximum 0 no alias is advertised and any alias is invalid.
TEST_F(V5TopicAliasDisabledTest, AnyAliasIsInvalidWhenDisabled) {
  V5Client pub(port());
  m::ConnackPacket ack;
  ASSERT_TRUE(pub.connect(V5Client::connect_packet("alias-off"), &ack));
  EXPECT_EQ(ack.properties.topic_alias_maximum.value_or(0), 0) << describe(ack.properties);
  ASSERT_TRUE(pub.send(aliased("alias/off", 1, "x")));
  EXPECT_TRUE(pub.expect_disconnect(m::reason::kTopicAliasInvalid));
}

// Outbound: a subscriber with Topic Alias Maximum 5 gets the first message with topic +
// alias, the second with an empty topic and the same alias (§3.3.2.3.4), never an alias
// above 5 (MQTT-3.3.2-11).
TEST_F(V5TopicAliasTest, OutboundAliasesForAcceptingSubscriber) {
  V5Client sub(port());
  m::ConnectPacket p = V5Client::connect_packet("alias-out-sub");
  p.properties.topic_alias_maximum = 5;
  ASSERT_TRUE(sub.connect(p));
  ASSERT_TRUE(sub.subscribe("alias/out/#", 1));
  V5Client pub(port());
  ASSERT_TRUE(pub.connect("alias-out-pub"));
  ASSERT_TRUE(pub.publish("alias/out/t", "m1", 1));
  ASSERT_TRUE(pub.publish("alias/out/t", "m2", 1));
  ASSERT_TRUE(pub.publish("alias/out/u", "m3", 1));
  ASSERT_TRUE(pub.publish("alias/out/u", "m4", 1));

  std::vector<Message> got;
  ASSERT_TRUE(sub.recv_publishes(4, &got));
  ASSERT_TRUE(got[0].props.topic_alias.has_value()) << describe(got[0]);
  EXPECT_EQ(got[0].topic, "alias/out/t");
  uint16_t alias_t = *got[0].props.topic_alias;
  EXPECT_GE(alias_t, 1);
  EXPECT_LE(alias_t, 5);
  EXPECT_EQ(got[1].topic, "") << "second message should use the alias alone: " << describe(got[1]);
  EXPECT_EQ(got[1].props.topic_alias, std::optional<uint16_t>(alias_t));
  EXPECT_EQ(got[1].payload, "m2");
  // Another topic gets another alias.
  ASSERT_TRUE(got[2].props.topic_alias.has_value());
  EXPECT_EQ(got[2].topic, "alias/out/u");
  EXPECT_NE(*got[2].props.topic_alias, alias_t);
  EXPECT_LE(*got[2].props.topic_alias, 5);
  EXPECT_EQ(got[3].topic, "");
  EXPECT_EQ(got[3].props.topic_alias, got[2].props.topic_alias);
}

// More topics than the client's maximum: never an alias above it, and every message can be
// resolved by a receiver that follows §3.3.2.3.4.
TEST_F(V5TopicAliasTest, OutboundAliasesStayWithinClientMaximum) {
  V5Client sub(port());
  m::ConnectPacket p = V5Client::connect_packet("alias-max-sub");
  p.properties.topic_alias_maximum = 2;
  ASSERT_TRUE(sub.connect(p));
  ASSERT_TRUE(sub.subscribe("alias/max/#", 0));
  V5Client pub(port());
  ASSERT_TRUE(pub.connect("alias-max-pub"));
  std::vector<std::string> topics;
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 4; ++i) topics.push_back("alias/max/" + std::to_string(i));
  }
  for (const auto& t : topics) ASSERT_TRUE(pub.publish(t, t, 0));
  std::vector<Message> got;
  ASSERT_TRUE(sub.recv_publishes(topics.size(), &got));
  std::map<uint16_t, std::string> mapping;  // what a compliant receiver would hold
  for (size_t i = 0; i < got.size(); ++i) {
    const Message& msg = got[i];
    std::string resolved = msg.topic;
    if (msg.props.topic_alias) {
      EXPECT_GE(*msg.props.topic_alias, 1);
      EXPECT_LE(*msg.props.topic_alias, 2) << describe(msg);
      if (msg.topic.empty()) {
        ASSERT_TRUE(mapping.count(*msg.props.topic_alias)) << "alias used before set";
        resolved = mapping[*msg.props.topic_alias];
      } else {
        mapping[*msg.props.topic_alias] = msg.topic;
      }
    } else {
      EXPECT_FALSE(msg.topic.empty()) << "empty topic without alias";
    }
    EXPECT_EQ(resolved, msg.payload) << "message " << i << " resolves to the wrong topic";
  }
}

// Interop: Paho MQTT 5 (which leaves alias resolution to the application) parses the
// broker's aliased PUBLISHes, and resolving them as §3.3.2.3.4 says yields the right topics.
TEST_F(V5TopicAliasTest, PahoReceivesResolvableOutboundAliases) {
  PahoV5 sub(port(), "alias-paho");
  PahoV5Options options;
  options.extra_properties.add(::mqtt::property(::mqtt::property::TOPIC_ALIAS_MAXIMUM, 10));
  ASSERT_TRUE(sub.connect(options));
  ASSERT_TRUE(sub.subscribe("alias/paho/#", 1));
  V5Client pub(port());
  ASSERT_TRUE(pub.connect("alias-paho-pub"));
  const std::vector<std::string> topics = {"alias/paho/a", "alias/paho/a", "alias/paho/b",
                                           "alias/paho/a", "alias/paho/b"};
  for (size_t i = 0; i < topics.size(); ++i) {
    ASSERT_TRUE(pub.publish(topics[i], std::to_string(i), 1));
  }
  std::map<int, std::string> mapping;
  size_t aliased_only = 0;
  for (size_t i = 0; i < topics.size(); ++i) {
    auto msg = sub.receive();
    ASSERT_TRUE(msg) << "Paho got " << i << " of " << topics.size() << " messages";
    EXPECT_EQ(msg->get_payload_str(), std::to_string(i));
    std::string topic = msg->get_topic();
    const auto& props = msg->get_properties();
    if (props.contains(::mqtt::property::TOPIC_ALIAS)) {
      int alias = ::mqtt::get<uint16_t>(props, ::mqtt::property::TOPIC_ALIAS);
      EXPECT_GE(alias, 1);
      EXPECT_LE(alias, 10);
      if (topic.empty()) {
        ++aliased_only;
        ASSERT_TRUE(mapping.count(alias)) << "alias " << alias << " used before it was set";
        topic = mapping[alias];
      } else {
        mapping[alias] = topic;
      }
    }
    EXPECT_EQ(topic, topics[i]) << "message " << i;
  }
  EXPECT_EQ(aliased_only, 3u) << "repeated topics should be sent as alias only";
}

}  // namespace
}  // namespace topicdb::itest::v5
