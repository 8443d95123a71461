// MQTT 5 Message Expiry Interval (§3.3.2.3.3): expired messages are not delivered, and the
// interval forwarded is what is left of it (MQTT-3.3.2-5, MQTT-3.3.2-6).
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "tests/integration/v5_client.h"

namespace topicdb::itest::v5 {
namespace {

class V5MessageExpiryTest : public V5Test {
 protected:
  void make_offline_session(const std::string& id, const std::string& filter) {
    V5Client c(port());
    ASSERT_TRUE(c.connect(id, true, 60));
    ASSERT_TRUE(c.subscribe(filter, 1));
    ASSERT_TRUE(c.disconnect());
  }
  static m::Properties expiring(uint32_t seconds) {
    m::Properties p;
    p.message_expiry_interval = seconds;
    return p;
  }
};

// A QoS 1 message with expiry 1 s queued for an offline session is dropped once 2 s passed
// (MQTT-3.3.2-5); a message without expiry queued after it is still delivered.
TEST_F(V5MessageExpiryTest, ExpiredQueuedMessageIsNotDelivered) {
  ASSERT_NO_FATAL_FAILURE(make_offline_session("me-sub", "me/t"));
  V5Client pub(port());
  ASSERT_TRUE(pub.connect("me-pub"));
  ASSERT_TRUE(pub.publish("me/t", "short-lived", 1, expiring(1)));
  ASSERT_TRUE(pub.publish("me/t", "durable", 1));
  std::this_thread::sleep_for(milliseconds(2000));

  V5Client sub(port());
  bool present = false;
  ASSERT_TRUE(sub.connect("me-sub", false, 60, &present));
  ASSERT_TRUE(present);
  auto msg = sub.recv_publish();
  ASSERT_TRUE(msg) << "the non-expiring message was not delivered";
  EXPECT_EQ(msg->payload, "durable") << "expired message delivered: " << describe(*msg);
  EXPECT_FALSE(msg->props.message_expiry_interval.has_value());
  EXPECT_TRUE(sub.expect_no_publish(milliseconds(500)));
}

// A message with expiry 60 s that waited ~1.5 s is delivered with the remaining interval:
// present, > 0, and less than the 60 s it was published with (MQTT-3.3.2-6).
TEST_F(V5MessageExpiryTest, UnexpiredMessageCarriesRemainingInterval) {
  ASSERT_NO_FATAL_FAILURE(make_offline_session("me-sub2", "me/t2"));
  V5Client pub(port());
  ASSERT_TRUE(pub.connect("me-pub2"));
  ASSERT_TRUE(pub.publish("me/t2", "long-lived", 1, expiring(60)));
  std::this_thread::sleep_for(milliseconds(1500));

  V5Client sub(port());
  ASSERT_TRUE(sub.connect("me-sub2", false, 60));
  auto msg = sub.recv_publish();
  ASSERT_TRUE(msg);
  EXPECT_EQ(msg->payload, "long-lived");
  ASSERT_TRUE(msg->props.message_expiry_interval.has_value())
      << "Message Expiry Interval not forwarded: " << describe(*msg);
  EXPECT_GT(*msg->props.message_expiry_interval, 0u);
  EXPECT_LE(*msg->props.message_expiry_interval, 59u)
      << "interval not reduced by the ~1.5 s the message waited in the broker";
  EXPECT_GE(*msg->props.message_expiry_interval, 50u);
}

// Live delivery forwards the interval too (nearly unchanged).
TEST_F(V5MessageExpiryTest, LiveDeliveryForwardsInterval) {
  V5Client sub(port());
  ASSERT_TRUE(sub.connect("me-live"));
  ASSERT_TRUE(sub.subscribe("me/live", 1));
  V5Client pub(port());
  ASSERT_TRUE(pub.connect("me-live-pub"));
  ASSERT_TRUE(pub.publish("me/live", "x", 1, expiring(30)));
  auto msg = sub.recv_publish();
  ASSERT_TRUE(msg);
  ASSERT_TRUE(msg->props.message_expiry_interval.has_value()) << describe(*msg);
  EXPECT_GE(*msg->props.message_expiry_interval, 29u);
  EXPECT_LE(*msg->props.message_expiry_interval, 30u);
}

// A retained message with expiry 1 s is no longer sent to a new subscriber after 2 s
// (§3.3.2.3.3 applies to retained copies too); a retained one without expiry still is.
TEST_F(V5MessageExpiryTest, ExpiredRetainedMessageIsNotSent) {
  V5Client pub(port());
  ASSERT_TRUE(pub.connect("me-ret-pub"));
  ASSERT_TRUE(pub.publish("me/ret/short", "short", 1, expiring(1), /*retain=*/true));
  ASSERT_TRUE(pub.publish("me/ret/long", "long", 1, {}, /*retain=*/true));
  std::this_thread::sleep_for(milliseconds(2000));

  V5Client sub(port());
  ASSERT_TRUE(sub.connect("me-ret-sub"));
  ASSERT_TRUE(sub.subscribe("me/ret/#", 1));
  auto msg = sub.recv_publish();
  ASSERT_TRUE(msg) << "the non-expiring retained message was not sent";
  EXPECT_EQ(msg->topic, "me/ret/long") << describe(*msg);
  EXPECT_TRUE(msg->retain);
  EXPECT_TRUE(sub.expect_no_publish(milliseconds(500)));
}

// A retained message still within its expiry is sent with the remaining interval.
TEST_F(V5MessageExpiryTest, RetainedMessageCarriesRemainingInterval) {
  V5Client pub(port());
  ASSERT_TRUE(pub.connect("me-ret-pub2"));
  ASSERT_TRUE(pub.publish("me/ret2", "r", 1, expiring(60), /*retain=*/true));
  std::this_thread::sleep_for(milliseconds(1200));
  V5Client sub(port());
  ASSERT_TRUE(sub.connect("me-ret-sub2"));
  ASSERT_TRUE(sub.subscribe("me/ret2", 1));
  auto msg = sub.recv_publish();
  ASSERT_TRUE(msg);
  EXPECT_TRUE(msg->retain);
  ASSERT_TRUE(msg->props.message_expiry_interval.has_value()) << describe(*msg);
  EXPECT_LE(*msg->props.message_expiry_interval, 59u);
  EXPECT_GT(*msg->props.message_expiry_interval, 0u);
}

// MQTT-3.3.2-5 for an online client too: a message that expires while it waits behind a full
// Receive Maximum window (delivery not started) is dropped; the one behind it is not.
TEST_F(V5MessageExpiryTest, ExpiresWhileQueuedBehindReceiveMaximum) {
  V5Client sub(port());
  sub.set_auto_ack(false);
  m::ConnectPacket p = V5Client::connect_packet("me-window");
  p.properties.receive_maximum = 1;
  ASSERT_TRUE(sub.connect(p));
  ASSERT_TRUE(sub.subscribe("me/window", 1));
  V5Client pub(port());
  ASSERT_TRUE(pub.connect("me-window-pub"));
  ASSERT_TRUE(pub.publish("me/window", "first", 1));
  ASSERT_TRUE(pub.publish("me/window", "expires", 1, expiring(1)));
  ASSERT_TRUE(pub.publish("me/window", "last", 1));
  auto first = sub.recv_publish();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->payload, "first");
  std::this_thread::sleep_for(milliseconds(2000));
  ASSERT_TRUE(sub.puback(first->packet_id));
  auto next = sub.recv_publish();
  ASSERT_TRUE(next);
  EXPECT_EQ(next->payload, "last") << "expired message delivered: " << describe(*next);
}

}  // namespace
}  // namespace topicdb::itest::v5
