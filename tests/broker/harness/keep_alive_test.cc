// Keep alive on the harness (the real-binary tests in tests/integration/keepalive_test.cc
// cover the same behaviours with sleeps): a silent client is cut after one and a half keep
// alive periods (MQTT-3.1.2-24), not before, and traffic of any kind resets the count.
#include <gtest/gtest.h>

#include <string>

#include "tests/broker/harness/broker_harness.h"

namespace topicdb::broker::harness {
namespace {

using mqtt::PacketType;
using mqtt::ProtocolVersion;

ConnectOptions with_keep_alive(const std::string& id, uint16_t seconds,
                               ProtocolVersion version = ProtocolVersion::kV5) {
  ConnectOptions o;
  o.client_id = id;
  o.keep_alive_s = seconds;
  o.version = version;
  return o;
}

TEST(HarnessKeepAliveTest, SilentV5ClientIsCutAfterOneAndAHalfKeepAlive) {
  BrokerHarness h;
  TestClient& c = h.connect(with_keep_alive("silent", 10));
  ASSERT_TRUE(c.accepted());
  h.advance(15'000);
  EXPECT_FALSE(c.closed()) << "cut at 1.5 x keep alive, not after it";
  EXPECT_TRUE(c.all().empty());
  h.advance(h.broker().options().sweep_interval_ms);
  auto d = c.take(PacketType::kDisconnect);
  ASSERT_TRUE(d) << "no DISCONNECT after 1.5 x keep alive of silence";
  EXPECT_EQ(d->disconnect().reason_code, mqtt::reason::kKeepAliveTimeout);
  EXPECT_TRUE(c.closed());
}

TEST(HarnessKeepAliveTest, SilentV311ClientIsClosed) {
  BrokerHarness h;
  TestClient& c = h.connect(with_keep_alive("silent", 2, ProtocolVersion::kV311));
  h.advance(3000);
  EXPECT_FALSE(c.closed());
  h.advance(h.broker().options().sweep_interval_ms);
  EXPECT_TRUE(c.closed());
  EXPECT_TRUE(c.all().empty()) << "3.1.1 has no DISCONNECT from the server";
}

TEST(HarnessKeepAliveTest, PingreqKeepsConnectionAlive) {
  BrokerHarness h;
  TestClient& c = h.connect(with_keep_alive("pinger", 2));
  for (int i = 0; i < 10; ++i) {
    h.advance(2000);
    ASSERT_FALSE(c.closed()) << "cut after " << i << " pings";
    c.ping();
    auto r = c.next();
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->is(PacketType::kPingresp));
  }
}

TEST(HarnessKeepAliveTest, PublishesAlsoKeepConnectionAlive) {
  BrokerHarness h;
  TestClient& c = h.connect(with_keep_alive("talker", 2));
  for (int i = 0; i < 10; ++i) {
    h.advance(2000);
    ASSERT_FALSE(c.closed());
    c.publish("ka/t", "x", 0);
  }
}

TEST(HarnessKeepAliveTest, ZeroKeepAliveIsNeverCut) {
  BrokerHarness h;
  TestClient& c = h.connect(with_keep_alive("forever", 0));
  h.advance(24 * 3600 * 1000);
  EXPECT_FALSE(c.closed());
  c.ping();
  auto r = c.next();
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->is(PacketType::kPingresp));
}

TEST(HarnessKeepAliveTest, TimedOutPersistentSessionKeepsQueuing) {
  BrokerHarness h;
  ConnectOptions o = with_keep_alive("sleepy", 1, ProtocolVersion::kV311);
  o.clean_start = false;
  TestClient& c = h.connect(o);
  ASSERT_EQ(c.subscribe("ka/queue", 1), 1);
  h.advance(2000);
  ASSERT_TRUE(c.closed());
  TestClient& pub = h.connect("publisher");
  pub.publish("ka/queue", "while away", 1);
  o.keep_alive_s = 60;
  TestClient& back = h.connect(o);
  EXPECT_TRUE(back.connack()->session_present);
  auto got = back.publishes();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].publish().payload, "while away");
}

}  // namespace
}  // namespace topicdb::broker::harness
