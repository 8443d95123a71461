// The Authorizer seam through a whole broker: refusals of CONNECT, a will topic, a publish
// topic and a subscribe filter, and the reason codes each version hears.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>

#include "broker/authorizer.h"
#include "tests/broker/harness/broker_harness.h"

namespace topicdb::broker::harness {
namespace {

using mqtt::PacketType;
using mqtt::ProtocolVersion;

// Refuses client ids "denied" (permission) and "stranger" (authentication), and topics or
// filters starting with "forbidden".
class TestAuthorizer final : public Authorizer {
 public:
  Status authorize_connect(const ClientIdentity& client) override {
    if (client.client_id == "denied") return Status::permission_denied("denied");
    if (client.client_id == "stranger") return Status::unauthenticated("who?");
    return Status::ok();
  }
  Status authorize_publish(const ClientIdentity&, std::string_view topic, uint8_t, bool) override {
    return topic.starts_with("forbidden") ? Status::permission_denied("topic") : Status::ok();
  }
  Status authorize_subscribe(const ClientIdentity&, std::string_view filter, uint8_t) override {
    return filter.starts_with("forbidden") ? Status::permission_denied("filter") : Status::ok();
  }
};

class AuthorizerTest : public ::testing::Test {
 protected:
  AuthorizerTest() { h_.broker().set_authorizer(std::make_unique<TestAuthorizer>()); }
  BrokerHarness h_;
};

TEST_F(AuthorizerTest, RefusedConnect) {
  struct Case {
    const char* id;
    ProtocolVersion version;
    uint8_t code;
  } cases[] = {{"denied", ProtocolVersion::kV5, mqtt::reason::kNotAuthorized},
               {"denied", ProtocolVersion::kV311, mqtt::connack_v311::kNotAuthorized},
               {"stranger", ProtocolVersion::kV5, mqtt::reason::kBadUserNameOrPassword},
               {"stranger", ProtocolVersion::kV311, mqtt::connack_v311::kNotAuthorized}};
  for (const Case& k : cases) {
    TestClient& c = h_.connect(k.id, k.version);
    ASSERT_TRUE(c.connack()) << k.id;
    EXPECT_EQ(c.connack()->reason_code, k.code) << k.id;
    EXPECT_TRUE(c.closed()) << k.id;
  }
  EXPECT_EQ(h_.broker().session_count(), 0u);
}

TEST_F(AuthorizerTest, RefusedWillTopicRefusesTheConnect) {
  ConnectOptions o;
  o.client_id = "w";
  o.will = mqtt::Will{.topic = "forbidden/will", .payload = "x"};
  TestClient& c = h_.connect(o);
  ASSERT_TRUE(c.connack());
  EXPECT_EQ(c.connack()->reason_code, mqtt::reason::kNotAuthorized);
  EXPECT_TRUE(c.closed());
  o.version = ProtocolVersion::kV311;
  TestClient& old = h_.connect(o);
  ASSERT_TRUE(old.connack());
  EXPECT_EQ(old.connack()->reason_code, mqtt::connack_v311::kNotAuthorized);
}

TEST_F(AuthorizerTest, RefusedPublishV5GetsNotAuthorizedAndNothingIsDelivered) {
  TestClient& sub = h_.connect("sub");
  ASSERT_EQ(sub.subscribe("#", 1), 1);
  TestClient& c = h_.connect("c");
  const uint16_t id = c.publish("forbidden/t", "x", 1);
  auto ack = c.next();
  ASSERT_TRUE(ack);
  ASSERT_TRUE(ack->is(PacketType::kPuback));
  EXPECT_EQ(ack->ack().packet_id, id);
  EXPECT_EQ(ack->ack().reason_code, mqtt::reason::kNotAuthorized);
  EXPECT_TRUE(sub.publishes().empty());
}

TEST_F(AuthorizerTest, RefusedPublishV311GetsAPlainPubackAndNothingIsDelivered) {
  TestClient& sub = h_.connect("sub");
  ASSERT_EQ(sub.subscribe("#", 1), 1);
  TestClient& c = h_.connect("c", ProtocolVersion::kV311);
  const uint16_t id = c.publish("forbidden/t", "x", 1);
  auto ack = c.next();
  ASSERT_TRUE(ack);
  ASSERT_TRUE(ack->is(PacketType::kPuback));
  EXPECT_EQ(ack->ack().packet_id, id);
  EXPECT_EQ(ack->wire->size(), 4u);
  EXPECT_TRUE(sub.publishes().empty());
  EXPECT_FALSE(c.closed());
}

TEST_F(AuthorizerTest, RefusedQos2PublishEndsTheFlowAndFreesTheId) {
  TestClient& sub = h_.connect("sub");
  ASSERT_EQ(sub.subscribe("#", 2), 2);
  TestClient& c = h_.connect("c");
  c.send(mqtt::PublishPacket{.topic = "forbidden/t", .payload = "x", .qos = 2, .packet_id = 5});
  auto rec = c.next();
  ASSERT_TRUE(rec);
  ASSERT_TRUE(rec->is(PacketType::kPubrec));
  EXPECT_EQ(rec->ack().reason_code, mqtt::reason::kNotAuthorized);
  // Id 5 is free: a new QoS 2 PUBLISH with it is a new message, delivered.
  c.send(mqtt::PublishPacket{.topic = "allowed/t", .payload = "y", .qos = 2, .packet_id = 5});
  rec = c.next();
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->ack().reason_code, 0);
  auto got = sub.publishes();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].publish().payload, "y");
}

TEST_F(AuthorizerTest, RefusedSubscribeGetsFailureAndNothingIsDelivered) {
  TestClient& v5 = h_.connect("v5");
  TestClient& v311 = h_.connect("v311", ProtocolVersion::kV311);
  EXPECT_EQ(v5.subscribe("forbidden/#", 1), mqtt::reason::kNotAuthorized);
  EXPECT_EQ(v311.subscribe("forbidden/#", 1), 0x80);
  EXPECT_EQ(h_.broker().subscription_count(), 0u);
  h_.broker().publish(ServerMessage{.topic = "forbidden/x", .payload = "p"});
  EXPECT_TRUE(v5.publishes().empty());
  EXPECT_TRUE(v311.publishes().empty());
}

}  // namespace
}  // namespace topicdb::broker::harness
