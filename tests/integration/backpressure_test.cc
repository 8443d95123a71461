// Back-pressure: a subscriber that does not read makes the broker stop taking a
// publisher's messages instead of buffering them without bound, and nothing is lost when
// the subscriber reads again (QoS 0 included).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>

#include "tests/integration/fixture.h"
#include "tests/integration/raw_client.h"

namespace topicdb::itest {
namespace {

using std::chrono::milliseconds;

size_t rss_kib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoul(line.substr(6));
  }
  return 0;
}

class BackpressureTest : public BrokerTest {
 protected:
  // Under AddressSanitizer freed memory sits in a quarantine (256 MiB by default), so the
  // broker's RSS would follow the bytes it has passed through rather than what it holds.
  // A tiny quarantine for the broker child (it inherits the environment) keeps RSS
  // meaningful; without ASan the variable is ignored.
  static void SetUpTestSuite() {
    const char* current = std::getenv("ASAN_OPTIONS");
    std::string options = current ? std::string(current) + ":" : std::string();
    options += "quarantine_size_mb=1:thread_local_quarantine_size_kb=64";
    ::setenv("ASAN_OPTIONS", options.c_str(), 1);
  }
};

TEST_F(BackpressureTest, SlowSubscriberSlowsPublisherWithoutLossOrUnboundedMemory) {
  RawClient sub;
  ConnectSpec sub_spec;
  sub_spec.client_id = "bp-sub";
  ASSERT_TRUE(sub.mqtt_connect(port(), sub_spec));
  ASSERT_TRUE(sub.mqtt_subscribe(1, {{"bp/t", 0}}, {0}));
  RawClient pub;
  ConnectSpec pub_spec;
  pub_spec.client_id = "bp-pub";
  ASSERT_TRUE(pub.mqtt_connect(port(), pub_spec));

  // 800 x 64 KiB = 50 MiB: far more than the loopback socket buffers and the broker's
  // bounds together can hold, so the publisher must be held back.
  constexpr int kMessages = 800;
  constexpr size_t kPayload = 64 * 1024;
  const size_t rss_before = rss_kib(broker_.pid());
  std::atomic<int> sent{0};
  std::thread publisher([&] {
    for (int i = 0; i < kMessages; ++i) {
      std::string payload = std::to_string(i);
      payload.resize(kPayload, 'x');
      if (!pub.send(publish_packet("bp/t", payload))) return;
      sent = i + 1;
    }
  });
  // Whatever happens below, let the publisher finish before its client goes away.
  struct Joiner {
    std::thread& t;
    RawClient& s;
    ~Joiner() {
      if (t.joinable()) {
        s.close();  // a gone subscriber releases the publisher
        t.join();
      }
    }
  } joiner{publisher, sub};

  std::this_thread::sleep_for(milliseconds(1500));
  const size_t rss_held = rss_kib(broker_.pid());
  EXPECT_LT(sent.load(), kMessages) << "the publisher was never slowed down";
  // Without back-pressure the broker would buffer tens of MiB for the subscriber.
  EXPECT_LT(rss_held, rss_before + 16 * 1024)
      << "broker RSS grew from " << rss_before << " KiB to " << rss_held << " KiB";

  // The subscriber now reads: every message arrives, in order.
  for (int i = 0; i < kMessages; ++i) {
    auto packet = sub.recv_packet(milliseconds(5000));
    ASSERT_TRUE(packet) << "message " << i << " of " << kMessages << " never arrived";
    auto publish = parse_publish(*packet);
    ASSERT_TRUE(publish) << describe(*packet);
    ASSERT_EQ(publish->payload.size(), kPayload);
    ASSERT_EQ(publish->payload.substr(0, std::to_string(i).size()), std::to_string(i))
        << "out of order at " << i;
  }
  publisher.join();
  EXPECT_EQ(sent.load(), kMessages);
}

}  // namespace
}  // namespace topicdb::itest
