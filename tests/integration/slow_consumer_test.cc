// A stuck subscriber stalls no one: one that never acknowledges and one that never reads its
// socket share a topic with a healthy subscriber; the publisher gets every acknowledgement,
// the healthy subscriber every message in order, the stuck ones what their bounds allow,
// and the drops are counted in $SYS/broker/messages/dropped.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/fixture.h"
#include "tests/integration/raw_client.h"
#include "tests/integration/v5_client.h"

namespace topicdb::itest {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;
using v5::V5Client;
namespace m = ::topicdb::mqtt;

constexpr int kMessages = 3000;
constexpr int kMaxInflight = 64;  // broker default
constexpr int kMaxQueued = 1000;  // broker default
constexpr char kTopic[] = "stuck/t";

class SlowConsumerTest : public BrokerTest {
 protected:
  std::vector<std::string> broker_args() const override {
    return {"--slow-consumer-timeout-ms", "300", "--sys-interval", "1"};
  }

  ::testing::AssertionResult connect_sub(RawClient& c, const std::string& id, uint8_t qos) {
    ConnectSpec spec;
    spec.client_id = id;
    spec.keep_alive = 0;  // the never-reading one must not be cut by keep-alive
    if (auto r = c.mqtt_connect(port(), spec); !r) return r;
    return c.mqtt_subscribe(1, {{kTopic, qos}}, {qos});
  }

  // The latest $SYS/broker/messages/dropped value once it reaches `at_least` (or the last
  // one seen after a bounded wait).
  uint64_t dropped_counter(uint64_t at_least) {
    RawClient sys;
    ConnectSpec spec;
    spec.client_id = "sys-reader";
    if (!sys.mqtt_connect(port(), spec)) return 0;
    if (!sys.mqtt_subscribe(1, {{"$SYS/broker/messages/dropped", 0}}, {0})) return 0;
    uint64_t value = 0;
    auto deadline = steady_clock::now() + milliseconds(8000);
    while (steady_clock::now() < deadline) {
      auto packet = sys.recv_packet(milliseconds(2000));
      if (!packet) continue;
      auto publish = parse_publish(*packet);
      if (!publish) continue;
      value = std::stoull(publish->payload);
      if (value >= at_least) break;
    }
    return value;
  }
};

// Reads and acknowledges everything (QoS 2 completed), recording payloads in order, until
// all arrived or a generous deadline passed.
void run_healthy(RawClient* c, uint8_t qos, std::vector<std::string>* got) {
  const auto deadline = steady_clock::now() + milliseconds(90000);
  while (steady_clock::now() < deadline && got->size() < static_cast<size_t>(kMessages)) {
    auto packet = c->recv_packet(milliseconds(200));
    if (!packet) {
      if (c->peer_closed()) return;
      continue;
    }
    if (packet->type() == 6) {  // PUBREL
      c->send(pubcomp_packet(packet->packet_id()));
      continue;
    }
    auto publish = parse_publish(*packet);
    if (!publish) continue;
    got->push_back(publish->payload.substr(0, publish->payload.find('|')));
    if (qos == 1) c->send(puback_packet(publish->packet_id));
    if (qos == 2) c->send(pubrec_packet(publish->packet_id));
  }
}

// Reads everything and acknowledges nothing: an application thread that hangs while the
// network thread keeps the connection alive.
void run_never_acking(RawClient* c, std::atomic<int>* received, std::atomic<bool>* stop) {
  while (!*stop) {
    auto packet = c->recv_packet(milliseconds(200));
    if (!packet) {
      if (c->peer_closed()) return;
      continue;
    }
    if (parse_publish(*packet)) ++*received;
  }
}

std::string payload_of(int i, size_t size) {
  std::string p = std::to_string(i) + "|";
  p.resize(size, 'x');
  return p;
}

// Publishes messages [from, to) at `qos` with up to 100 unacknowledged; returns how many completed
// (PUBACK, or PUBCOMP for QoS 2) within the deadline. QoS 0 counts sends.
int publish_all(RawClient& pub, uint8_t qos, size_t payload_size, milliseconds budget, int from = 0,
                int to = kMessages) {
  const auto deadline = steady_clock::now() + budget;
  int next = from;
  int done = from;
  while (done < to && steady_clock::now() < deadline) {
    while (next < to && (qos == 0 || next - done < 100)) {
      uint16_t id = qos == 0 ? 0 : static_cast<uint16_t>(next % 60000 + 1);
      if (!pub.send(
              publish_packet(kTopic, payload_of(next, payload_size), qos, false, false, id))) {
        return done - from;
      }
      ++next;
      if (qos == 0) ++done;
    }
    if (qos == 0) break;
    auto packet = pub.recv_packet(milliseconds(500));
    if (!packet) continue;
    if (packet->type() == 4 && qos == 1) ++done;                            // PUBACK
    if (packet->type() == 5) pub.send(pubrel_packet(packet->packet_id()));  // PUBREC
    if (packet->type() == 7) ++done;                                        // PUBCOMP
  }
  return done - from;
}

class SlowConsumerQosTest : public SlowConsumerTest, public ::testing::WithParamInterface<int> {};

TEST_P(SlowConsumerQosTest, StuckSubscribersStallNoOne) {
  const uint8_t qos = static_cast<uint8_t>(GetParam());
  // QoS 0 has no window or queue: the never-reading subscriber's bound is 64 MiB unwritten,
  // so it takes large messages to reach it.
  const size_t payload_size = qos == 0 ? 32 * 1024 : 1024;

  RawClient healthy, never_acks, never_reads, other_sub;
  ASSERT_TRUE(connect_sub(healthy, "healthy", qos));
  ASSERT_TRUE(connect_sub(never_acks, "never-acks", qos));
  ASSERT_TRUE(connect_sub(never_reads, "never-reads", qos));
  ConnectSpec other_spec;
  other_spec.client_id = "other-sub";
  ASSERT_TRUE(other_sub.mqtt_connect(port(), other_spec));
  ASSERT_TRUE(other_sub.mqtt_subscribe(1, {{"other/t", 1}}, {1}));

  std::atomic<bool> stop{false};
  std::vector<std::string> got;
  std::atomic<int> never_acks_received{0};
  std::thread healthy_thread(run_healthy, &healthy, qos, &got);
  std::thread never_acks_thread(run_never_acking, &never_acks, &never_acks_received, &stop);

  // A publisher on an unrelated topic: each of its QoS 1 round trips must stay prompt.
  std::atomic<int64_t> other_worst_ms{0};
  std::atomic<int> other_done{0};
  std::thread other_thread([&] {
    RawClient other_pub;
    ConnectSpec spec;
    spec.client_id = "other-pub";
    if (!other_pub.mqtt_connect(port(), spec)) return;
    for (uint16_t i = 1; !stop && i < 10000; ++i) {
      auto start = steady_clock::now();
      if (!other_pub.send(publish_packet("other/t", "x", 1, false, false, i))) return;
      auto ack = other_pub.recv_packet_of_type(4, milliseconds(10000));
      if (!ack) return;
      auto arrived = other_sub.recv_packet_of_type(3, milliseconds(10000));
      if (!arrived) return;
      other_sub.send(puback_packet(parse_publish(*arrived)->packet_id));
      int64_t ms = std::chrono::duration_cast<milliseconds>(steady_clock::now() - start).count();
      if (ms > other_worst_ms) other_worst_ms = ms;
      ++other_done;
      std::this_thread::sleep_for(milliseconds(20));
    }
  });

  RawClient pub;
  ConnectSpec pub_spec;
  pub_spec.client_id = "stuck-pub";
  ASSERT_TRUE(pub.mqtt_connect(port(), pub_spec));
  const int completed = publish_all(pub, qos, payload_size, milliseconds(60000));
  EXPECT_EQ(completed, kMessages) << "the publisher was stalled";

  // The healthy subscriber gets everything, in order.
  healthy_thread.join();
  if (qos == 0) {
    auto deadline = steady_clock::now() + milliseconds(30000);
    while (never_acks_received < kMessages && steady_clock::now() < deadline) {
      std::this_thread::sleep_for(milliseconds(20));
    }
  }
  stop = true;
  never_acks_thread.join();
  other_thread.join();
  ASSERT_EQ(got.size(), static_cast<size_t>(kMessages));
  for (int i = 0; i < kMessages; ++i) {
    ASSERT_EQ(got[i], std::to_string(i)) << "out of order at " << i;
  }

  EXPECT_GT(other_done.load(), 0);
  EXPECT_LT(other_worst_ms.load(), 2000) << "the unrelated publisher was slowed";

  if (qos == 0) {
    // The reading one gets everything; the never-reading one reached 64 MiB unwritten.
    EXPECT_EQ(never_acks_received.load(), kMessages);
    EXPECT_GT(dropped_counter(1), 0u);
  } else {
    // Window plus queue, the rest dropped for it alone.
    EXPECT_EQ(never_acks_received.load(), kMaxInflight);
    const uint64_t expected_drops = 2 * (kMessages - kMaxInflight - kMaxQueued);
    EXPECT_EQ(dropped_counter(expected_drops), expected_drops);
  }
}

INSTANTIATE_TEST_SUITE_P(Qos, SlowConsumerQosTest, ::testing::Values(0, 1, 2));

// Once stuck, an ack now and then (more often than the timeout) does not let a subscriber
// stall its publishers again: only a queue back under half its bound does.
TEST_F(SlowConsumerTest, AnAckNowAndThenDoesNotStallAgain) {
  RawClient healthy, trickle;
  ASSERT_TRUE(connect_sub(healthy, "healthy", 1));
  ASSERT_TRUE(connect_sub(trickle, "trickle", 1));
  std::vector<std::string> got;
  std::thread healthy_thread(run_healthy, &healthy, 1, &got);
  std::atomic<bool> stop{false};
  std::atomic<int> acked{0};
  std::thread trickle_thread([&] {
    std::vector<uint16_t> unacked;
    // It first gets stuck: no ack for well over the timeout after the first message.
    auto next_ack = steady_clock::time_point::max();
    while (!stop) {
      if (auto packet = trickle.recv_packet(milliseconds(20))) {
        if (auto publish = parse_publish(*packet)) {
          if (unacked.empty() && acked == 0) next_ack = steady_clock::now() + milliseconds(1500);
          unacked.push_back(publish->packet_id);
        }
      }
      if (steady_clock::now() >= next_ack && !unacked.empty()) {
        trickle.send(puback_packet(unacked.front()));
        unacked.erase(unacked.begin());
        ++acked;
        next_ack = steady_clock::now() + milliseconds(200);  // under the 300 ms timeout
      }
    }
  });
  RawClient pub;
  ConnectSpec pub_spec;
  pub_spec.client_id = "stuck-pub";
  ASSERT_TRUE(pub.mqtt_connect(port(), pub_spec));
  EXPECT_EQ(publish_all(pub, 1, 1024, milliseconds(20000), 0, kMessages / 2), kMessages / 2);
  auto deadline = steady_clock::now() + milliseconds(10000);
  while (acked < 3 && steady_clock::now() < deadline) std::this_thread::sleep_for(milliseconds(20));
  ASSERT_GE(acked.load(), 3);
  // Held at one message per ack, the second half would take five minutes.
  EXPECT_EQ(publish_all(pub, 1, 1024, milliseconds(20000), kMessages / 2, kMessages),
            kMessages / 2);
  healthy_thread.join();
  stop = true;
  trickle_thread.join();
  EXPECT_GT(acked.load(), 0);
  EXPECT_EQ(got.size(), static_cast<size_t>(kMessages));
}

class SlowConsumerDisconnectTest : public SlowConsumerTest {
 protected:
  std::vector<std::string> broker_args() const override {
    return {"--slow-consumer-timeout-ms", "300", "--slow-consumer-action", "disconnect"};
  }
};

TEST_F(SlowConsumerDisconnectTest, StuckMqtt5SubscriberIsDisconnectedWith0x97) {
  V5Client stuck(port());
  stuck.set_auto_ack(false);
  ASSERT_TRUE(stuck.connect("stuck-v5"));
  ASSERT_TRUE(stuck.subscribe(kTopic, 1));
  RawClient healthy;
  ASSERT_TRUE(connect_sub(healthy, "healthy", 1));
  std::vector<std::string> got;
  std::thread healthy_thread(run_healthy, &healthy, 1, &got);

  RawClient pub;
  ConnectSpec pub_spec;
  pub_spec.client_id = "stuck-pub";
  ASSERT_TRUE(pub.mqtt_connect(port(), pub_spec));
  std::thread publisher(
      [&] { EXPECT_EQ(publish_all(pub, 1, 1024, milliseconds(60000)), kMessages); });

  auto disconnect = stuck.recv_type(m::PacketType::kDisconnect, milliseconds(10000));
  ASSERT_TRUE(disconnect) << "no DISCONNECT for the stuck subscriber";
  const auto* d = disconnect->get<m::DisconnectPacket>();
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->reason_code, m::reason::kQuotaExceeded);
  ASSERT_TRUE(d->properties.reason_string.has_value());
  EXPECT_FALSE(d->properties.reason_string->empty());

  publisher.join();
  healthy_thread.join();
  ASSERT_EQ(got.size(), static_cast<size_t>(kMessages));
  for (int i = 0; i < kMessages; ++i) ASSERT_EQ(got[i], std::to_string(i));
}

}  // namespace
}  // namespace topicdb::itest
