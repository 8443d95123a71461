// Process lifecycle of `topicdb serve`: ready line, graceful shutdown on SIGTERM/SIGINT with
// clients connected (exit code 0), restart on the same data dir, many connections.
#include <gtest/gtest.h>

#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "tests/integration/fixture.h"
#include "tests/integration/mosquitto_clients.h"
#include "tests/integration/paho_client.h"
#include "tests/integration/raw_client.h"

namespace topicdb::itest {
namespace {

using std::chrono::milliseconds;

class LifecycleTest : public BrokerTest {};

TEST_F(LifecycleTest, ReadyLineFormat) {
  std::regex format("topicdb ready listeners=127\\.0\\.0\\.1:[0-9]+ data_dir=(.*)");
  std::smatch match;
  const std::string& line = broker_.ready_line();
  ASSERT_TRUE(std::regex_match(line, match, format)) << "ready line: '" << line << "'";
  EXPECT_EQ(match[1].str(), dir_.path());
  RawClient raw;
  ConnectSpec spec;
  spec.client_id = "ready";
  EXPECT_TRUE(raw.mqtt_connect(port(), spec)) << "ready line printed before accepting";
}

// The startup log names the allocator the build linked (jemalloc by default; the system's
// with TOPICDB_ALLOCATOR=system and under sanitizers), read from the allocator itself.
TEST_F(LifecycleTest, StartupLogNamesTheLinkedAllocator) {
  const std::string expected = std::string("(allocator: ") + LINKED_ALLOCATOR;
  // The line follows the ready line (stdout), so it may still be on its way.
  EXPECT_TRUE(
      wait_until([&] { return broker_.stderr_tail(100000).find(expected) != std::string::npos; },
                 milliseconds(5000)))
      << "expected '" << expected << "' in:\n"
      << broker_.stderr_tail();
}

TEST_F(LifecycleTest, SigtermWithConnectedClientsExitsZero) {
  PahoClient paho(port(), "paho");
  ASSERT_TRUE(paho.connect());
  ASSERT_TRUE(paho.subscribe("life/#", 1));
  RawClient raw;
  ConnectSpec spec;
  spec.client_id = "raw";
  ASSERT_TRUE(raw.mqtt_connect(port(), spec));
  ASSERT_TRUE(broker_.stop(milliseconds(10000), SIGTERM));
  EXPECT_TRUE(raw.wait_closed(milliseconds(1000))) << "client connection outlived the broker";
  EXPECT_TRUE(paho.wait_disconnected(milliseconds(3000)));
}

TEST_F(LifecycleTest, SigintExitsZero) {
  RawClient raw;
  ConnectSpec spec;
  spec.client_id = "raw";
  ASSERT_TRUE(raw.mqtt_connect(port(), spec));
  ASSERT_TRUE(broker_.stop(milliseconds(10000), SIGINT));
}

TEST_F(LifecycleTest, RestartOnSameDataDirServesAgain) {
  uint16_t first_port = port();
  ASSERT_TRUE(broker_.restart());
  ASSERT_TRUE(broker_.restart());
  RawClient raw;
  ConnectSpec spec;
  spec.client_id = "after-restarts";
  ASSERT_TRUE(raw.mqtt_connect(port(), spec));
  EXPECT_TRUE(raw.mqtt_ping());
  RecordProperty("first_port", first_port);
}

TEST_F(LifecycleTest, StartsAfterCrashOnSameDataDir) {
  RawClient raw;
  ConnectSpec spec;
  spec.client_id = "crash-victim";
  spec.clean_session = false;
  ASSERT_TRUE(raw.mqtt_connect(port(), spec));
  ASSERT_TRUE(raw.mqtt_subscribe(1, {{"x", 1}}));
  ASSERT_TRUE(broker_.crash_and_restart());
  RawClient again;
  ASSERT_TRUE(again.mqtt_connect(port(), spec));
  EXPECT_TRUE(again.mqtt_ping());
}

TEST_F(LifecycleTest, ManyConcurrentConnections) {
  constexpr int kCount = 100;
  std::vector<std::unique_ptr<RawClient>> clients;
  for (int i = 0; i < kCount; ++i) {
    clients.push_back(std::make_unique<RawClient>());
    ConnectSpec spec;
    spec.client_id = "many-" + std::to_string(i);
    ASSERT_TRUE(clients.back()->mqtt_connect(port(), spec)) << "connection " << i;
  }
  for (int i = 0; i < kCount; ++i) {
    ASSERT_TRUE(clients[i]->mqtt_subscribe(1, {{"many/all", 0}}, {0}));
  }
  MosqClient pub(port(), "many-pub");
  ASSERT_TRUE(pub.connect());
  ASSERT_TRUE(pub.publish("many/all", "broadcast", 0));
  for (int i = 0; i < kCount; ++i) {
    auto packet = clients[i]->recv_packet_of_type(kPublish);
    ASSERT_TRUE(packet) << "client " << i << " missed the broadcast";
    EXPECT_EQ(parse_publish(*packet)->payload, "broadcast");
  }
}

}  // namespace
}  // namespace topicdb::itest
