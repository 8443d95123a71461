// Limits: --max-packet-size (default 1 MiB, refused before allocation, connection closed)
// and --max-connections.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "tests/integration/fixture.h"
#include "tests/integration/paho_client.h"
#include "tests/integration/raw_client.h"

namespace topicdb::itest {
namespace {

using std::chrono::milliseconds;

class LimitsTest : public BrokerTest {};

// A PUBLISH just below the 1 MiB default is accepted and delivered.
TEST_F(LimitsTest, DefaultMaxPacketSizeAcceptsAlmostOneMiB) {
  PahoClient sub(port(), "big-sub");
  ASSERT_TRUE(sub.connect());
  ASSERT_TRUE(sub.subscribe("big/t", 1));
  RawClient raw;
  ConnectSpec spec;
  spec.client_id = "big-pub";
  ASSERT_TRUE(raw.mqtt_connect(port(), spec));
  std::string payload(1024 * 1024 - 100, 'p');
  ASSERT_TRUE(raw.send(publish_packet("big/t", payload, 1, false, false, 1)));
  auto ack = raw.recv_packet(milliseconds(5000));
  ASSERT_TRUE(ack) << "no PUBACK for a " << payload.size() << "-byte payload"
                   << (raw.peer_closed() ? " (connection closed)" : "");
  EXPECT_EQ(ack->type(), kPuback);
  auto msg = sub.receive(milliseconds(5000));
  ASSERT_TRUE(msg);
  EXPECT_EQ(msg->get_payload_str().size(), payload.size());
}

// Above 1 MiB the connection is closed as soon as the fixed header is read (the body is never
// sent here, so a broker that waits for or allocates it would not close).
TEST_F(LimitsTest, DefaultMaxPacketSizeRejectsMoreThanOneMiB) {
  RawClient raw;
  ConnectSpec spec;
  spec.client_id = "too-big";
  ASSERT_TRUE(raw.mqtt_connect(port(), spec));
  Bytes header{0x30};
  Bytes len = encode_remaining_length(1024 * 1024 + 1);
  header.insert(header.end(), len.begin(), len.end());
  ASSERT_TRUE(raw.send(header));
  EXPECT_TRUE(raw.wait_closed(milliseconds(3000)));
}

class SmallPacketLimitTest : public BrokerTest {
 protected:
  std::vector<std::string> broker_args() const override { return {"--max-packet-size", "1024"}; }
};

TEST_F(SmallPacketLimitTest, EnforcesConfiguredMaxPacketSize) {
  PahoClient sub(port(), "sub");
  ASSERT_TRUE(sub.connect());
  ASSERT_TRUE(sub.subscribe("limit/#", 1));
  RawClient raw;
  ConnectSpec spec;
  spec.client_id = "limited";
  ASSERT_TRUE(raw.mqtt_connect(port(), spec));
  ASSERT_TRUE(raw.send(publish_packet("limit/ok", std::string(900, 'a'), 1, false, false, 1)));
  auto ack = raw.recv_packet(milliseconds(3000));
  ASSERT_TRUE(ack) << "900-byte payload refused by a 1024-byte limit";
  EXPECT_EQ(ack->type(), kPuback);
  ASSERT_TRUE(sub.receive());

  (void)raw.send(publish_packet("limit/big", std::string(2000, 'b'), 1, false, false, 2));
  EXPECT_TRUE(raw.wait_closed(milliseconds(3000))) << "2000-byte PUBLISH accepted";
  EXPECT_TRUE(sub.expect_no_message(milliseconds(300))) << "oversized message was delivered";
  EXPECT_TRUE(sub.is_connected());
}

class MaxConnectionsTest : public BrokerTest {
 protected:
  std::vector<std::string> broker_args() const override { return {"--max-connections", "2"}; }
};

// The connection over the limit is refused: closed without CONNACK, or CONNACK 0x03 (server
// unavailable) and closed. The existing connections are unaffected and a slot frees up when
// one of them leaves.
TEST_F(MaxConnectionsTest, RefusesConnectionsOverTheLimit) {
  ConnectSpec spec;
  RawClient a;
  RawClient b;
  spec.client_id = "a";
  ASSERT_TRUE(a.mqtt_connect(port(), spec));
  spec.client_id = "b";
  ASSERT_TRUE(b.mqtt_connect(port(), spec));

  RawClient c;
  spec.client_id = "c";
  if (c.connect(port())) {
    (void)c.send(connect_packet(spec));
    auto packet = c.recv_packet(milliseconds(3000));
    if (packet) {
      EXPECT_EQ(packet->type(), kConnack) << describe(*packet);
      EXPECT_EQ(packet->body, (Bytes{0x00, 0x03}))
          << "third connection accepted despite --max-connections 2: " << describe(*packet);
    }
    EXPECT_TRUE(c.wait_closed(milliseconds(3000))) << "connection over the limit not closed";
  }
  EXPECT_TRUE(a.mqtt_ping());
  EXPECT_TRUE(b.mqtt_ping());

  ASSERT_TRUE(a.send(disconnect_packet()));
  EXPECT_TRUE(a.wait_closed(milliseconds(3000)));
  // The slot is released (allow the broker a moment to notice).
  bool connected = wait_until(
      [&] {
        RawClient d;
        ConnectSpec d_spec;
        d_spec.client_id = "d";
        return static_cast<bool>(d.mqtt_connect(port(), d_spec));
      },
      milliseconds(3000), milliseconds(200));
  EXPECT_TRUE(connected) << "slot not released after a client disconnected";
}

}  // namespace
}  // namespace topicdb::itest
