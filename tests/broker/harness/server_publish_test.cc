// The server-publish seam (Broker::publish(ServerMessage)) through a whole broker: what
// 3.1.1 and 5 subscribers receive, only_client_id, and where a retained one is kept.
#include <gtest/gtest.h>

#include <string>

#include "broker/server_publish.h"
#include "tests/broker/harness/broker_harness.h"

namespace topicdb::broker::harness {
namespace {

using mqtt::PacketType;
using mqtt::ProtocolVersion;

ServerMessage full_message(uint8_t qos) {
  ServerMessage m;
  m.topic = "srv/answer";
  m.payload = "42";
  m.qos = qos;
  m.properties.response_topic = "srv/reply";
  m.properties.correlation_data = std::string("\x00\x07", 2);
  m.properties.user_properties = {{"origin", "server"}};
  m.properties.content_type = "text/plain";
  m.properties.message_expiry_interval = 60;
  return m;
}

class ServerPublishTest : public ::testing::TestWithParam<uint8_t> {};

TEST_P(ServerPublishTest, ReachesV311AndV5SubscribersWithItsProperties) {
  const uint8_t qos = GetParam();
  BrokerHarness h;
  TestClient& old_client = h.connect("old", ProtocolVersion::kV311);
  TestClient& new_client = h.connect("new", ProtocolVersion::kV5);
  ASSERT_EQ(old_client.subscribe("srv/#", 1), 1);
  ASSERT_EQ(new_client.subscribe("srv/#", 1), 1);

  h.advance(5000);  // the expiry counts from the publish, not from the broker's start
  EXPECT_EQ(h.broker().publish(full_message(qos)), 2u);

  auto old_got = old_client.publishes();
  ASSERT_EQ(old_got.size(), 1u);
  EXPECT_EQ(old_got[0].publish().topic, "srv/answer");
  EXPECT_EQ(old_got[0].publish().payload, "42");
  EXPECT_EQ(old_got[0].publish().qos, qos);

  auto new_got = new_client.publishes();
  ASSERT_EQ(new_got.size(), 1u);
  const mqtt::PublishPacket& p = new_got[0].publish();
  EXPECT_EQ(p.topic, "srv/answer");
  EXPECT_EQ(p.payload, "42");
  EXPECT_EQ(p.qos, qos);
  EXPECT_FALSE(p.retain);
  EXPECT_EQ(p.properties.response_topic, "srv/reply");
  EXPECT_EQ(p.properties.correlation_data, std::string("\x00\x07", 2));
  EXPECT_EQ(p.properties.content_type, "text/plain");
  EXPECT_EQ(p.properties.message_expiry_interval, 60u);
  ASSERT_EQ(p.properties.user_properties.size(), 1u);
  EXPECT_EQ(p.properties.user_properties[0].first, "origin");
  EXPECT_EQ(p.properties.user_properties[0].second, "server");
}

INSTANTIATE_TEST_SUITE_P(Qos, ServerPublishTest, ::testing::Values(0, 1));

TEST(ServerPublishSeamTest, QueuedServerMessageIsSentWithWhatIsLeftOfItsExpiry) {
  BrokerHarness h;
  ConnectOptions o;
  o.client_id = "away";
  o.clean_start = false;
  o.properties.session_expiry_interval = 600;
  TestClient& first = h.connect(o);
  ASSERT_EQ(first.subscribe("srv/#", 1), 1);
  first.drop();
  EXPECT_EQ(h.broker().publish(full_message(1)), 1u);
  h.advance(20'000);
  o.clean_start = false;
  TestClient& back = h.connect(o);
  auto got = back.publishes();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].publish().properties.message_expiry_interval, 40u);
}

TEST(ServerPublishSeamTest, OnlyClientIdDeliversToThatClientOnly) {
  BrokerHarness h;
  TestClient& a = h.connect("a", ProtocolVersion::kV311);
  TestClient& b = h.connect("b");
  ASSERT_EQ(a.subscribe("answers/#", 0), 0);
  ASSERT_EQ(b.subscribe("answers/#", 0), 0);
  ServerMessage m;
  m.topic = "answers/1";
  m.payload = "for a";
  m.only_client_id = "a";
  EXPECT_EQ(h.broker().publish(m), 1u);
  auto got = a.publishes();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].publish().payload, "for a");
  EXPECT_TRUE(b.publishes().empty());

  m.only_client_id = "nobody";
  EXPECT_EQ(h.broker().publish(m), 0u);
  EXPECT_TRUE(a.publishes().empty());
}

TEST(ServerPublishSeamTest, DurableRetainLandsInTheStoreAndReachesLaterSubscribers) {
  BrokerHarness h;
  ServerMessage m;
  m.topic = "state/x";
  m.payload = "on";
  m.qos = 1;
  m.retain = true;
  EXPECT_EQ(h.broker().publish(m), 0u);
  EXPECT_EQ(h.broker().retained_count(), 1u);
  auto loaded = h.store().load();
  ASSERT_TRUE(loaded.is_ok());
  ASSERT_EQ(loaded->retained.size(), 1u);
  EXPECT_EQ(loaded->retained[0].topic, "state/x");
  EXPECT_EQ(loaded->retained[0].payload, "on");

  TestClient& later = h.connect("later", ProtocolVersion::kV311);
  ASSERT_EQ(later.subscribe("state/#", 1), 1);
  auto got = later.publishes();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].publish().payload, "on");
  EXPECT_TRUE(got[0].publish().retain);
}

TEST(ServerPublishSeamTest, InMemoryRetainDoesNotTouchTheStore) {
  BrokerHarness h;
  ServerMessage m;
  m.topic = "process/uptime";
  m.payload = "12";
  m.retain = true;
  m.retain_in_memory_only = true;
  h.broker().publish(m);
  EXPECT_EQ(h.broker().retained_count(), 1u);
  auto loaded = h.store().load();
  ASSERT_TRUE(loaded.is_ok());
  EXPECT_TRUE(loaded->retained.empty());
  TestClient& later = h.connect("later");
  ASSERT_EQ(later.subscribe("process/#", 0), 0);
  auto got = later.publishes();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].publish().payload, "12");
}

}  // namespace
}  // namespace topicdb::broker::harness

namespace topicdb::broker::harness {
namespace {

// recipients: a message for some users only ($DB events of owned records) reaches only the
// sessions whose user name the predicate accepts: connected, away, or in a shared group.
ServerMessage for_user(const std::string& user) {
  ServerMessage m;
  m.topic = "srv/owned";
  m.payload = user;
  m.qos = 1;
  m.recipients = std::make_shared<const RecipientFilter>(
      [user](const std::string* name) { return name != nullptr && *name == user; });
  return m;
}

TestClient& connect_as(BrokerHarness& h, const std::string& id, std::optional<std::string> user,
                       bool persistent = false) {
  ConnectOptions o;
  o.client_id = id;
  o.username = std::move(user);
  o.clean_start = !persistent;
  if (persistent) o.properties.session_expiry_interval = 600;
  return h.connect(o);
}

TEST(ServerPublishRecipientsTest, OnlySessionsOfAcceptedUsersReceive) {
  BrokerHarness h;
  TestClient& alice = connect_as(h, "a", "alice");
  TestClient& bob = connect_as(h, "b", "bob");
  TestClient& anon = connect_as(h, "n", std::nullopt);
  for (TestClient* c : {&alice, &bob, &anon}) ASSERT_EQ(c->subscribe("srv/#", 1), 1);
  EXPECT_EQ(h.broker().publish(for_user("alice")), 1u);
  auto got = alice.publishes();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].publish().payload, "alice");
  EXPECT_TRUE(bob.publishes().empty());
  EXPECT_TRUE(anon.publishes().empty());
}

TEST(ServerPublishRecipientsTest, AnAwaySessionKeepsItsUserAndGetsOnlyItsMessages) {
  BrokerHarness h;
  TestClient& first = connect_as(h, "b", "bob", /*persistent=*/true);
  ASSERT_EQ(first.subscribe("srv/#", 1), 1);
  first.drop();
  EXPECT_EQ(h.broker().publish(for_user("alice")), 0u);
  EXPECT_EQ(h.broker().publish(for_user("bob")), 1u);
  TestClient& back = connect_as(h, "b", "bob", /*persistent=*/true);
  auto got = back.publishes();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].publish().payload, "bob");
}

TEST(ServerPublishRecipientsTest, ASharedGroupPicksAnAcceptedMember) {
  BrokerHarness h;
  TestClient& alice = connect_as(h, "a", "alice");
  TestClient& bob = connect_as(h, "b", "bob");
  ASSERT_EQ(alice.subscribe("$share/g/srv/#", 1), 1);
  ASSERT_EQ(bob.subscribe("$share/g/srv/#", 1), 1);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(h.broker().publish(for_user("bob")), 1u);
  EXPECT_TRUE(alice.publishes().empty());
  EXPECT_EQ(bob.publishes().size(), 3u);
  EXPECT_EQ(h.broker().publish(for_user("carol")), 0u);
}

}  // namespace
}  // namespace topicdb::broker::harness
