// $SYS/broker/... statistics topics with --sys-interval 1, seen by an MQTT 5 client, and the
// rule that '#' does not match topics beginning with '$' (MQTT-4.7.2-1).
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/v5_client.h"

namespace topicdb::itest::v5 {
namespace {

class V5SysTopicsTest : public BrokerTest {
 protected:
  std::vector<std::string> broker_args() const override { return {"--sys-interval", "1"}; }

  // Reads PUBLISHes for `window`, keeping the latest value per topic.
  static void collect(V5Client& c, milliseconds window, std::map<std::string, std::string>* latest,
                      std::map<std::string, int>* counts = nullptr) {
    auto deadline = SteadyClock::now() + window;
    while (true) {
      auto left = std::chrono::duration_cast<milliseconds>(deadline - SteadyClock::now());
      if (left.count() <= 0) return;
      auto msg = c.recv_publish(left);
      if (!msg) return;
      (*latest)[msg->topic] = msg->payload;
      if (counts) ++(*counts)[msg->topic];
    }
  }

  // The leading integer of a value ("12 seconds" -> 12); -1 when there is none.
  static long long number(const std::string& value) {
    if (value.empty() || value[0] < '0' || value[0] > '9') return -1;
    return std::strtoll(value.c_str(), nullptr, 10);
  }
};

TEST_F(V5SysTopicsTest, PublishesBrokerStatistics) {
  V5Client sys(port());
  ASSERT_TRUE(sys.connect("sys-watcher"));
  ASSERT_TRUE(sys.subscribe("$SYS/broker/#", 0));
  std::map<std::string, std::string> first;
  collect(sys, milliseconds(1300), &first);

  const std::vector<std::string> required = {
      "$SYS/broker/version",
      "$SYS/broker/uptime",
      "$SYS/broker/clients/connected",
      "$SYS/broker/clients/total",
      "$SYS/broker/messages/received",
      "$SYS/broker/messages/sent",
      "$SYS/broker/bytes/received",
      "$SYS/broker/bytes/sent",
      "$SYS/broker/subscriptions/count",
      "$SYS/broker/retained messages/count",
  };
  for (const auto& topic : required) {
    ASSERT_TRUE(first.count(topic)) << topic << " not published within 1.3 s";
  }
  EXPECT_FALSE(first["$SYS/broker/version"].empty());
  EXPECT_NE(first["$SYS/broker/version"].find("topicdb"), std::string::npos)
      << first["$SYS/broker/version"];
  for (const auto& topic : required) {
    if (topic == "$SYS/broker/version") continue;
    EXPECT_GE(number(first[topic]), 0) << topic << " = '" << first[topic] << "' is not a number";
  }
  EXPECT_GE(number(first["$SYS/broker/clients/connected"]), 1) << "we are connected";
  EXPECT_GE(number(first["$SYS/broker/subscriptions/count"]), 1) << "we are subscribed";

  // Change something the statistics count, then wait for the next round.
  V5Client other(port());
  ASSERT_TRUE(other.connect("sys-other"));
  ASSERT_TRUE(other.subscribe("sys/a", 0));
  ASSERT_TRUE(other.subscribe("sys/b", 0));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(other.publish("sys/a", "x", 1));
  ASSERT_TRUE(other.publish("sys/retained", "r", 1, {}, true));
  std::map<std::string, std::string> later;
  collect(sys, milliseconds(2300), &later);
  for (const auto& topic : required) ASSERT_TRUE(later.count(topic)) << topic << " not republished";

  EXPECT_GT(number(later["$SYS/broker/uptime"]), number(first["$SYS/broker/uptime"]))
      << first["$SYS/broker/uptime"] << " -> " << later["$SYS/broker/uptime"];
  EXPECT_GE(number(later["$SYS/broker/clients/connected"]), 2);
  EXPECT_GE(number(later["$SYS/broker/messages/received"]),
            number(first["$SYS/broker/messages/received"]) + 6);
  EXPECT_GE(number(later["$SYS/broker/subscriptions/count"]),
            number(first["$SYS/broker/subscriptions/count"]) + 2);
  EXPECT_GE(number(later["$SYS/broker/retained messages/count"]),
            number(first["$SYS/broker/retained messages/count"]) + 1);
  EXPECT_GE(number(later["$SYS/broker/clients/total"]), 2);
  // Six PUBLISHes of at least 8 bytes each came in; the watcher was sent the $SYS round.
  EXPECT_GE(number(later["$SYS/broker/bytes/received"]),
            number(first["$SYS/broker/bytes/received"]) + 6 * 8);
  EXPECT_GT(number(later["$SYS/broker/bytes/sent"]), number(first["$SYS/broker/bytes/sent"]));
  EXPECT_GE(number(later["$SYS/broker/messages/sent"]),
            number(first["$SYS/broker/messages/sent"]) + 5);
}

// The statistics are retained: a late subscriber gets them at once.
TEST_F(V5SysTopicsTest, StatisticsAreRetained) {
  std::this_thread::sleep_for(milliseconds(300));
  V5Client late(port());
  ASSERT_TRUE(late.connect("sys-late"));
  ASSERT_TRUE(late.subscribe("$SYS/broker/version", 0));
  auto msg = late.recv_publish(milliseconds(500));
  ASSERT_TRUE(msg) << "no retained $SYS/broker/version right after subscribing";
  EXPECT_TRUE(msg->retain);
}

// MQTT-4.7.2-1: '#' and '+/...' do not match topics starting with '$'.
TEST_F(V5SysTopicsTest, WildcardsDoNotMatchSys) {
  V5Client all(port());
  ASSERT_TRUE(all.connect("sys-hash"));
  ASSERT_TRUE(all.subscribe("#", 0));
  ASSERT_TRUE(all.subscribe("+/broker/#", 0));
  V5Client pub(port());
  ASSERT_TRUE(pub.connect("sys-hash-pub"));
  ASSERT_TRUE(pub.publish("normal/topic", "seen", 0));
  auto msg = all.recv_publish();
  ASSERT_TRUE(msg) << "'#' subscription does not work at all";
  EXPECT_EQ(msg->topic, "normal/topic");
  // Two $SYS rounds go by; none may reach '#' / '+/broker/#'.
  auto deadline = SteadyClock::now() + milliseconds(2200);
  while (SteadyClock::now() < deadline) {
    auto left = std::chrono::duration_cast<milliseconds>(deadline - SteadyClock::now());
    auto extra = all.recv_publish(left);
    if (!extra) break;
    EXPECT_NE(extra->topic.rfind("$", 0), 0u) << "'#' received " << describe(*extra);
  }
}

}  // namespace
}  // namespace topicdb::itest::v5
