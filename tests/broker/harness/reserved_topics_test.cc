// The reserved-topic seam through a whole broker: a test handler on "$TEST/" gets client
// publishes (and wills) with who sent them, completes them late, and decides who may
// subscribe under its prefix; $SYS is read-only for clients.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "broker/reserved_topics.h"
#include "tests/broker/harness/broker_harness.h"

namespace topicdb::broker::harness {
namespace {

using mqtt::PacketType;
using mqtt::ProtocolVersion;

// Keeps every request with its completion; the test completes them when it chooses.
class TestHandler final : public ReservedTopicHandler {
 public:
  struct Pending {
    ReservedPublish request;
    ReservedCompletion completion;
    // Completes the request (exactly once, as the broker expects).
    void done(Status status) {
      ASSERT_TRUE(completion) << "completed twice";
      std::exchange(completion, nullptr)(std::move(status));
    }
  };
  void on_publish(ReservedPublish request, ReservedCompletion done) override {
    pending.push_back({std::move(request), std::move(done)});
  }
  Status authorize_subscribe(const ClientIdentity& client, std::string_view filter) override {
    subscribe_asks.emplace_back(std::string(client.client_id), std::string(filter));
    if (filter.find("secret") != std::string_view::npos) {
      return Status::permission_denied("secret");
    }
    return Status::ok();
  }
  std::vector<Pending> pending;
  std::vector<std::pair<std::string, std::string>> subscribe_asks;
};

class ReservedTopicsTest : public ::testing::Test {
 protected:
  ReservedTopicsTest() { h_.broker().add_reserved_handler("$TEST/", &handler_); }
  ~ReservedTopicsTest() override {
    // The handler must finish what it holds before the broker goes.
    for (auto& p : handler_.pending) {
      if (p.completion) p.done(Status::ok());
    }
  }

  TestHandler handler_;  // declared first: outlives the broker
  BrokerHarness h_;
};

TEST_F(ReservedTopicsTest, HandlerGetsThePublishWithWhoSentIt) {
  ConnectOptions o;
  o.client_id = "alice";
  o.username = "al";
  TestClient& c = h_.connect(o);
  ASSERT_TRUE(c.accepted());
  mqtt::Properties props;
  props.response_topic = "reply/alice";
  props.correlation_data = std::string("\x01\x02", 2);
  props.user_properties = {{"k", "v"}, {"k2", "v2"}};
  const uint16_t id = c.publish("$TEST/query", "select 1", 1, false, props);

  ASSERT_EQ(handler_.pending.size(), 1u);
  const ReservedPublish& r = handler_.pending[0].request;
  EXPECT_EQ(r.client_id, "alice");
  EXPECT_TRUE(r.has_username);
  EXPECT_EQ(r.username, "al");
  EXPECT_EQ(r.version, ProtocolVersion::kV5);
  EXPECT_EQ(r.topic, "$TEST/query");
  EXPECT_EQ(r.payload, "select 1");
  EXPECT_EQ(r.qos, 1);
  EXPECT_EQ(r.response_topic, "reply/alice");
  EXPECT_EQ(r.correlation_data, std::string("\x01\x02", 2));
  EXPECT_EQ(r.user_properties, props.user_properties);
  EXPECT_FALSE(r.is_will);
  EXPECT_FALSE(r.dup);
  EXPECT_EQ(r.packet_id, id);
  EXPECT_EQ(r.max_packet_size, 0u);  // the client declared none
}

TEST_F(ReservedTopicsTest, HandlerSeesDupAndTheClientsMaximumPacketSize) {
  ConnectOptions o;
  o.client_id = "d";
  o.properties.maximum_packet_size = 4096;
  TestClient& c = h_.connect(o);
  ASSERT_TRUE(c.accepted());
  mqtt::PublishPacket p{.topic = "$TEST/q", .payload = "x", .qos = 1, .dup = true, .packet_id = 31};
  c.send(p);
  ASSERT_EQ(handler_.pending.size(), 1u);
  EXPECT_TRUE(handler_.pending[0].request.dup);
  EXPECT_EQ(handler_.pending[0].request.packet_id, 31);
  EXPECT_EQ(handler_.pending[0].request.max_packet_size, 4096u);
}

TEST_F(ReservedTopicsTest, V311PublisherHasNoUsernameAndVersion311) {
  TestClient& c = h_.connect("bob", ProtocolVersion::kV311);
  c.publish("$TEST/x", "p", 0);
  ASSERT_EQ(handler_.pending.size(), 1u);
  EXPECT_FALSE(handler_.pending[0].request.has_username);
  EXPECT_EQ(handler_.pending[0].request.version, ProtocolVersion::kV311);
  EXPECT_FALSE(handler_.pending[0].request.response_topic);
}

TEST_F(ReservedTopicsTest, PubackWaitsForTheCompletion) {
  TestClient& c = h_.connect("c");
  const uint16_t id = c.publish("$TEST/q", "x", 1);
  ASSERT_EQ(handler_.pending.size(), 1u);
  EXPECT_FALSE(c.next()) << "PUBACK before the handler completed";
  handler_.pending[0].done(Status::ok());
  h_.run();
  auto ack = c.next();
  ASSERT_TRUE(ack);
  ASSERT_TRUE(ack->is(PacketType::kPuback));
  EXPECT_EQ(ack->ack().packet_id, id);
  EXPECT_EQ(ack->ack().reason_code, 0);
}

TEST_F(ReservedTopicsTest, PubrecWaitsForTheCompletion) {
  TestClient& c = h_.connect("c");
  const uint16_t id = c.publish("$TEST/q", "x", 2);
  ASSERT_EQ(handler_.pending.size(), 1u);
  EXPECT_FALSE(c.next());
  handler_.pending[0].done(Status::ok());
  h_.run();
  auto rec = c.next();
  ASSERT_TRUE(rec);
  ASSERT_TRUE(rec->is(PacketType::kPubrec));
  EXPECT_EQ(rec->ack().reason_code, 0);
  c.send(mqtt::AckPacket{.type = PacketType::kPubrel, .packet_id = id});
  auto comp = c.next();
  ASSERT_TRUE(comp);
  EXPECT_TRUE(comp->is(PacketType::kPubcomp));
}

TEST_F(ReservedTopicsTest, AcksKeepArrivalOrder) {
  TestClient& c = h_.connect("c");
  const uint16_t reserved_id = c.publish("$TEST/slow", "x", 1);
  const uint16_t normal_id = c.publish("plain/topic", "y", 1);
  EXPECT_FALSE(c.next()) << "the normal PUBACK overtook the pending reserved one";
  handler_.pending[0].done(Status::ok());
  h_.run();
  auto acks = c.all();
  ASSERT_EQ(acks.size(), 2u);
  EXPECT_EQ(acks[0].ack().packet_id, reserved_id);
  EXPECT_EQ(acks[1].ack().packet_id, normal_id);
}

TEST_F(ReservedTopicsTest, FailedCompletionReasonReachesV5Publisher) {
  TestClient& c = h_.connect("c");
  c.publish("$TEST/q", "x", 1);
  handler_.pending[0].done(Status::permission_denied("no"));
  h_.run();
  auto ack = c.next();
  ASSERT_TRUE(ack);
  ASSERT_TRUE(ack->is(PacketType::kPuback));
  EXPECT_EQ(ack->ack().reason_code, mqtt::reason::kNotAuthorized);
}

TEST_F(ReservedTopicsTest, FailedCompletionGivesV311PublisherAPlainPuback) {
  TestClient& c = h_.connect("c", ProtocolVersion::kV311);
  const uint16_t id = c.publish("$TEST/q", "x", 1);
  handler_.pending[0].done(Status::permission_denied("no"));
  h_.run();
  auto ack = c.next();
  ASSERT_TRUE(ack);
  ASSERT_TRUE(ack->is(PacketType::kPuback));
  EXPECT_EQ(ack->ack().packet_id, id);
  EXPECT_EQ(ack->wire->size(), 4u);  // 3.1.1 PUBACK: fixed header and packet id only
}

TEST_F(ReservedTopicsTest, FailedQos2CompletionFreesThePacketId) {
  TestClient& c = h_.connect("c");
  mqtt::PublishPacket p{.topic = "$TEST/q", .payload = "x", .qos = 2, .packet_id = 7};
  c.send(p);
  handler_.pending[0].done(Status::permission_denied("no"));
  h_.run();
  auto rec = c.next();
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->ack().reason_code, mqtt::reason::kNotAuthorized);
  // The flow ended: the same id is a new PUBLISH, handed to the handler again.
  c.send(p);
  EXPECT_EQ(handler_.pending.size(), 2u);
}

TEST_F(ReservedTopicsTest, ResentQos2WhileRunningIsNotRunTwice) {
  TestClient& c = h_.connect("c");
  mqtt::PublishPacket p{.topic = "$TEST/q", .payload = "x", .qos = 2, .packet_id = 9};
  c.send(p);
  p.dup = true;
  c.send(p);
  EXPECT_EQ(handler_.pending.size(), 1u) << "the resend ran the handler again";
  EXPECT_FALSE(c.next()) << "PUBREC before the completion";
  handler_.pending[0].done(Status::ok());
  h_.run();
  auto recs = c.all();
  ASSERT_GE(recs.size(), 1u);
  for (const Received& r : recs) {
    EXPECT_TRUE(r.is(PacketType::kPubrec));
    EXPECT_EQ(r.ack().packet_id, 9);
    EXPECT_EQ(r.ack().reason_code, 0);
  }
}

// A persistent client that lost its connection while its QoS 2 request ran resends the
// PUBLISH on the new connection: still one run, and the PUBREC carries the handler's answer.
TEST_F(ReservedTopicsTest, ResentQos2AfterReconnectWaitsForTheSameAnswer) {
  ConnectOptions o;
  o.client_id = "c";
  o.properties.session_expiry_interval = 60;
  TestClient& first = h_.connect(o);
  mqtt::PublishPacket p{.topic = "$TEST/q", .payload = "x", .qos = 2, .packet_id = 4};
  first.send(p);
  first.drop();
  o.clean_start = false;
  TestClient& second = h_.connect(o);
  ASSERT_TRUE(second.connack()->session_present);
  p.dup = true;
  second.send(p);
  EXPECT_EQ(handler_.pending.size(), 1u) << "the resend ran the handler again";
  EXPECT_FALSE(second.next()) << "PUBREC before the handler answered";
  handler_.pending[0].done(Status::permission_denied("no"));
  h_.run();
  auto rec = second.next();
  ASSERT_TRUE(rec);
  ASSERT_TRUE(rec->is(PacketType::kPubrec));
  EXPECT_EQ(rec->ack().packet_id, 4);
  EXPECT_EQ(rec->ack().reason_code, mqtt::reason::kNotAuthorized);
  // The refusal ended the flow: the id is free for a new request.
  p.dup = false;
  second.send(p);
  EXPECT_EQ(handler_.pending.size(), 2u);
}

// The session the request came from is gone (clean start) when the answer comes: the answer
// touches nothing of the new session, which may use the same packet id meanwhile.
TEST_F(ReservedTopicsTest, LateAnswerDoesNotTouchANewSessionWithTheSameId) {
  ConnectOptions o;
  o.client_id = "c";
  o.properties.session_expiry_interval = 60;
  TestClient& first = h_.connect(o);
  first.send(mqtt::PublishPacket{.topic = "$TEST/q", .payload = "x", .qos = 2, .packet_id = 4});
  first.drop();
  TestClient& sub = h_.connect("sub");
  ASSERT_EQ(sub.subscribe("plain/#", 2), 2);
  TestClient& second = h_.connect(o);  // clean start: a new session
  ASSERT_FALSE(second.connack()->session_present);
  mqtt::PublishPacket normal{.topic = "plain/t", .payload = "once", .qos = 2, .packet_id = 4};
  second.send(normal);
  ASSERT_TRUE(second.take(PacketType::kPubrec));
  handler_.pending[0].done(Status::permission_denied("late"));
  h_.run();
  EXPECT_TRUE(second.all().empty());
  // Id 4 is still held for the normal message: a resend is not delivered twice.
  normal.dup = true;
  second.send(normal);
  ASSERT_TRUE(second.take(PacketType::kPubrec));
  EXPECT_EQ(sub.publishes().size(), 1u);
}

TEST_F(ReservedTopicsTest, ReservedPublishNeverReachesSubscribersNorIsRetained) {
  TestClient& all = h_.connect("all");
  TestClient& test = h_.connect("test");
  ASSERT_EQ(all.subscribe("#", 1), 1);
  ASSERT_EQ(test.subscribe("$TEST/#", 1), 1);
  TestClient& pub = h_.connect("pub");
  pub.publish("$TEST/r", "retained?", 1, /*retain=*/true);
  handler_.pending[0].done(Status::ok());
  h_.run();
  EXPECT_TRUE(all.publishes().empty());
  EXPECT_TRUE(test.publishes().empty());
  EXPECT_EQ(h_.broker().retained_count(), 0u);
  TestClient& late = h_.connect("late");
  ASSERT_EQ(late.subscribe("$TEST/#", 1), 1);
  EXPECT_TRUE(late.publishes().empty()) << "a retained message on a reserved topic";
}

TEST_F(ReservedTopicsTest, WillOnReservedTopicGoesToTheHandler) {
  ConnectOptions o;
  o.client_id = "dying";
  o.username = "u";
  o.will = mqtt::Will{.topic = "$TEST/will", .payload = "bye", .qos = 1};
  TestClient& c = h_.connect(o);
  ASSERT_TRUE(c.accepted());
  EXPECT_TRUE(handler_.pending.empty());
  c.drop();
  ASSERT_EQ(handler_.pending.size(), 1u);
  const ReservedPublish& r = handler_.pending[0].request;
  EXPECT_TRUE(r.is_will);
  EXPECT_EQ(r.client_id, "dying");
  EXPECT_EQ(r.username, "u");
  EXPECT_EQ(r.topic, "$TEST/will");
  EXPECT_EQ(r.payload, "bye");
}

TEST_F(ReservedTopicsTest, HandlerDecidesSubscriptionsUnderItsPrefix) {
  TestClient& v5 = h_.connect("v5");
  TestClient& v311 = h_.connect("v311", ProtocolVersion::kV311);
  EXPECT_EQ(v5.subscribe("$TEST/open/#", 1), 1);
  EXPECT_EQ(v5.subscribe("$TEST/secret", 1), mqtt::reason::kNotAuthorized);
  EXPECT_EQ(v311.subscribe("$TEST/secret", 1), 0x80);
  EXPECT_EQ(v5.subscribe("other/secret", 1), 1) << "asked outside its prefix";
  ASSERT_EQ(handler_.subscribe_asks.size(), 3u);
  EXPECT_EQ(handler_.subscribe_asks[0],
            std::make_pair(std::string("v5"), std::string("$TEST/open/#")));
}

TEST_F(ReservedTopicsTest, CompletionAfterDisconnectIsHarmless) {
  TestClient& c = h_.connect("c");
  c.publish("$TEST/q", "x", 1);
  c.publish("$TEST/q2", "x", 2);
  c.drop();
  ASSERT_TRUE(c.closed());
  handler_.pending[0].done(Status::ok());
  handler_.pending[1].done(Status::permission_denied("late"));
  h_.run();
  // The client comes back; nothing of the old requests reaches it.
  TestClient& again = h_.connect("c");
  ASSERT_TRUE(again.accepted());
  EXPECT_TRUE(again.all().empty());
}

TEST(SysTopicsSeamTest, ClientPublishToSysIsRefused) {
  BrokerHarness h;
  TestClient& c = h.connect("c");
  TestClient& sub = h.connect("sub");
  ASSERT_EQ(sub.subscribe("$SYS/#", 0), 0);
  c.publish("$SYS/x", "forged", 1);
  auto ack = c.next();
  ASSERT_TRUE(ack);
  ASSERT_TRUE(ack->is(PacketType::kPuback));
  EXPECT_EQ(ack->ack().reason_code, mqtt::reason::kNotAuthorized);
  EXPECT_TRUE(sub.publishes().empty());
}

}  // namespace
}  // namespace topicdb::broker::harness
