// The Authenticator seam through a whole broker: a verdict that comes later, packets
// pipelined behind the CONNECT, the delayed refusal of failed logins growing per address,
// and the protection of other clients' response topics.
#include <gtest/gtest.h>

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "broker/authenticator.h"
#include "broker/authorizer.h"
#include "tests/broker/harness/broker_harness.h"

namespace topicdb::broker::harness {
namespace {

using mqtt::PacketType;
using mqtt::ProtocolVersion;

// Holds each check until the test answers it; records what the broker asked.
class PendingAuthenticator final : public Authenticator {
 public:
  struct Asked {
    std::string client_id;
    std::optional<std::string> username;
    std::optional<std::string> password;
    Verdict done;
  };
  void check(const ClientIdentity& client, std::optional<std::string_view> password,
             Verdict done) override {
    Asked a;
    a.client_id = std::string(client.client_id);
    if (client.has_username) a.username = std::string(client.username);
    if (password) a.password = std::string(*password);
    a.done = std::move(done);
    asked.push_back(std::move(a));
  }
  std::deque<Asked> asked;
};

class AuthenticatorTest : public ::testing::Test {
 protected:
  AuthenticatorTest() : h_(options()) {
    auto a = std::make_unique<PendingAuthenticator>();
    auth_ = a.get();
    h_.broker().set_authenticator(std::move(a));
  }
  static BrokerOptions options() {
    BrokerOptions o = harness_options();
    o.auth_fail_delay_ms = 100;
    o.connect_timeout_ms = 10000;
    return o;
  }
  TestClient& connect(const std::string& id, ProtocolVersion v = ProtocolVersion::kV5) {
    ConnectOptions o;
    o.client_id = id;
    o.version = v;
    o.username = "u";
    o.password = "p";
    return h_.connect(o);
  }
  void answer(Status verdict) {
    ASSERT_FALSE(auth_->asked.empty());
    auto done = std::move(auth_->asked.front().done);
    auth_->asked.pop_front();
    done(verdict);
    h_.run();
  }
  BrokerHarness h_;
  PendingAuthenticator* auth_;
};

TEST_F(AuthenticatorTest, ConnackWaitsForTheVerdictAndPipelinedPacketsFollowIt) {
  TestClient& c = connect("c");
  ASSERT_EQ(auth_->asked.size(), 1u);
  EXPECT_EQ(auth_->asked[0].username, "u");
  EXPECT_EQ(auth_->asked[0].password, "p");
  EXPECT_FALSE(c.connack());
  mqtt::SubscribePacket sub;
  sub.packet_id = 1;
  sub.subscriptions.push_back({.filter = "t", .qos = 0});
  c.send(sub);  // sent before CONNACK, as MQTT allows
  h_.run();
  EXPECT_FALSE(c.take(PacketType::kConnack));
  EXPECT_FALSE(c.closed());
  answer(Status::ok());
  auto connack = c.next();
  ASSERT_TRUE(connack && connack->is(PacketType::kConnack));
  EXPECT_EQ(std::get<mqtt::ConnackPacket>(connack->packet).reason_code, 0);
  auto suback = c.next();
  ASSERT_TRUE(suback && suback->is(PacketType::kSuback));
  EXPECT_EQ(h_.broker().subscription_count(), 1u);
}

TEST_F(AuthenticatorTest, FailedLoginsAreRefusedLaterEachTime) {
  int64_t expected_delay = 100;
  for (int i = 0; i < 6; ++i) {
    TestClient& c =
        connect("c" + std::to_string(i), i % 2 ? ProtocolVersion::kV311 : ProtocolVersion::kV5);
    answer(Status::unauthenticated("wrong password"));
    EXPECT_FALSE(c.take(PacketType::kConnack)) << i;  // not yet
    h_.advance(expected_delay - 1);
    EXPECT_FALSE(c.take(PacketType::kConnack)) << i;
    h_.advance(1);
    auto connack = c.take(PacketType::kConnack);
    ASSERT_TRUE(connack) << i;
    EXPECT_EQ(std::get<mqtt::ConnackPacket>(connack->packet).reason_code,
              i % 2 ? mqtt::connack_v311::kNotAuthorized : mqtt::reason::kBadUserNameOrPassword);
    expected_delay = std::min<int64_t>(expected_delay * 2, 1600);  // 16 x the base at most
  }
  EXPECT_EQ(h_.broker().stats().auth_failures, 6u);
  EXPECT_EQ(h_.broker().session_count(), 0u);
}

TEST_F(AuthenticatorTest, DeniedAnonymousIsRefusedAtOnceAndNotCounted) {
  TestClient& c = h_.connect("anon");
  answer(Status::permission_denied("anonymous clients are not allowed"));
  auto connack = c.take(PacketType::kConnack);
  ASSERT_TRUE(connack);
  EXPECT_EQ(std::get<mqtt::ConnackPacket>(connack->packet).reason_code,
            mqtt::reason::kNotAuthorized);
  EXPECT_EQ(h_.broker().stats().auth_failures, 0u);
}

TEST_F(AuthenticatorTest, AClientLeavingBeforeItsVerdictIsForgotten) {
  TestClient& c = connect("gone");
  c.drop();
  h_.run();
  answer(Status::ok());  // nothing left to answer: no crash, no session
  EXPECT_EQ(h_.broker().session_count(), 0u);
  TestClient& d = connect("gone2");
  answer(Status::unauthenticated("no"));
  d.drop();
  h_.advance(2000);  // the refusal timer died with the connection
  EXPECT_EQ(h_.broker().connection_count(), 0u);
}

TEST_F(AuthenticatorTest, EnhancedAuthenticationIsNotAskedAgain) {
  // Without a plugin for the method the CONNECT is refused with 0x8C before any password
  // check: the Authenticator is for clients that use no method.
  ConnectOptions o;
  o.client_id = "e";
  o.properties.authentication_method = "NOPE";
  TestClient& c = h_.connect(o);
  ASSERT_TRUE(c.connack());
  EXPECT_EQ(c.connack()->reason_code, mqtt::reason::kBadAuthenticationMethod);
  EXPECT_TRUE(auth_->asked.empty());
}

// An enhanced method that refuses every client at once.
class RefusingPlugin final : public AuthPlugin {
 public:
  const std::string& method() const override { return method_; }
  std::unique_ptr<AuthExchange> begin(const std::string&,
                                      const std::optional<std::string>&) override {
    struct Refuse final : AuthExchange {
      Step on_client_data(std::string_view) override {
        return Step{Outcome::kFailure, "", "wrong proof"};
      }
    };
    return std::make_unique<Refuse>();
  }

 private:
  std::string method_ = "REFUSE";
};

TEST_F(AuthenticatorTest, FailedEnhancedAuthenticationIsSlowedToo) {
  h_.broker().add_auth_plugin(std::make_unique<RefusingPlugin>());
  ConnectOptions o;
  o.client_id = "e";
  o.properties.authentication_method = "REFUSE";
  TestClient& c = h_.connect(o);
  EXPECT_FALSE(c.connack());
  h_.advance(99);
  EXPECT_FALSE(c.take(PacketType::kConnack));
  h_.advance(1);
  auto connack = c.take(PacketType::kConnack);
  ASSERT_TRUE(connack);
  EXPECT_EQ(std::get<mqtt::ConnackPacket>(connack->packet).reason_code,
            mqtt::reason::kNotAuthorized);
  EXPECT_EQ(h_.broker().stats().auth_failures, 1u);
  EXPECT_TRUE(auth_->asked.empty());  // no password check for an enhanced method
}

// Records the user name each CONNECT is authorized as.
class RecordingAuthorizer final : public Authorizer {
 public:
  Status authorize_connect(const ClientIdentity& client) override {
    users.push_back(client.has_username ? std::optional<std::string>(client.username)
                                        : std::nullopt);
    return Status::ok();
  }
  Status authorize_publish(const ClientIdentity&, std::string_view, uint8_t, bool) override {
    return Status::ok();
  }
  Status authorize_subscribe(const ClientIdentity&, std::string_view, uint8_t) override {
    return Status::ok();
  }
  std::vector<std::optional<std::string>> users;
};

// --tls-cert-as-username: the verified certificate is the authentication (mosquitto's
// use_identity_as_username), whatever CONNECT carries; the authorizer sees the CN.
TEST_F(AuthenticatorTest, ACertificateUserIsNotAskedForAPassword) {
  auto recorder = std::make_unique<RecordingAuthorizer>();
  RecordingAuthorizer* authorizer = recorder.get();
  h_.broker().set_authorizer(std::move(recorder));
  for (ProtocolVersion v : {ProtocolVersion::kV5, ProtocolVersion::kV311}) {
    ConnectOptions none;  // no user name, no password
    none.client_id = "cert-none";
    none.version = v;
    none.transport_username = "alice";
    TestClient& a = h_.connect(none);
    EXPECT_TRUE(a.accepted());
    ConnectOptions other;  // someone else's name with a wrong password
    other.client_id = "cert-other";
    other.version = v;
    other.username = "bob";
    other.password = "wrong";
    other.transport_username = "alice";
    TestClient& b = h_.connect(other);
    EXPECT_TRUE(b.accepted());
  }
  EXPECT_TRUE(auth_->asked.empty());
  ASSERT_EQ(authorizer->users.size(), 4u);
  for (const auto& user : authorizer->users) EXPECT_EQ(user, "alice");
  EXPECT_EQ(h_.broker().stats().auth_failures, 0u);

  TestClient& plain = connect("plain");  // the same broker still checks everyone else
  EXPECT_FALSE(plain.connack());
  ASSERT_EQ(auth_->asked.size(), 1u);
  EXPECT_EQ(auth_->asked[0].username, "u");
}

TEST_F(AuthenticatorTest, ACertificateUserCannotUseAnEnhancedMethod) {
  h_.broker().add_auth_plugin(std::make_unique<RefusingPlugin>());
  ConnectOptions o;
  o.client_id = "cert-enhanced";
  o.transport_username = "alice";
  o.properties.authentication_method = "REFUSE";
  TestClient& c = h_.connect(o);
  ASSERT_TRUE(c.connack());
  EXPECT_EQ(c.connack()->reason_code, mqtt::reason::kBadAuthenticationMethod);
  EXPECT_TRUE(c.closed());
  EXPECT_EQ(h_.broker().session_count(), 0u);
}

TEST(ResponseTopicProtectionTest, OnlyTheClientItselfReadsItsResponsePrefix) {
  BrokerHarness h;
  TestClient& c = h.connect("me");
  ASSERT_TRUE(c.accepted());
  EXPECT_EQ(c.subscribe("$response/me/#", 1), 1);
  EXPECT_EQ(c.subscribe("$response/me", 0), 0);
  EXPECT_EQ(c.subscribe("$response/other/#", 1), mqtt::reason::kNotAuthorized);
  EXPECT_EQ(c.subscribe("$response/+/x", 1), mqtt::reason::kNotAuthorized);
  EXPECT_EQ(c.subscribe("$response/#", 1), mqtt::reason::kNotAuthorized);
  EXPECT_EQ(c.subscribe("$response/meme/#", 1), mqtt::reason::kNotAuthorized);
  EXPECT_EQ(c.subscribe("$share/g/$response/other/#", 1), mqtt::reason::kNotAuthorized);
  EXPECT_EQ(c.subscribe("#", 0), 0);  // '#' never reaches '$' topics
  TestClient& old = h.connect("old", ProtocolVersion::kV311);
  EXPECT_EQ(old.subscribe("$response/me/#", 1), 0x80);
  TestClient& wild = h.connect("+");
  EXPECT_EQ(wild.subscribe("$response/+/#", 1), mqtt::reason::kNotAuthorized);
}

}  // namespace
}  // namespace topicdb::broker::harness
