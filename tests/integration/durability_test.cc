// `topicdb serve --durability periodic|none` (and immediate, for comparison): QoS 1 still
// flows, broker state survives a clean restart, and what was acknowledged survives a process
// crash (in periodic and none a commit is in the WAL before its PUBACK; only a power loss
// may lose it: docs/durability.md).
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "tests/integration/fixture.h"
#include "tests/integration/paho_client.h"

namespace topicdb::itest {
namespace {

class DurabilityTest : public BrokerTest, public ::testing::WithParamInterface<const char*> {
 protected:
  std::vector<std::string> broker_args() const override {
    return {"--durability", GetParam(), "--durability-interval-ms", "5"};
  }

  // The retained message on `topic` as a new subscriber sees it; "" when there is none.
  std::string retained(const std::string& topic) {
    PahoClient sub(port(), std::string("dur-check-") + GetParam());
    EXPECT_TRUE(sub.connect());
    EXPECT_TRUE(sub.subscribe(topic, 1));
    auto msg = sub.receive(milliseconds(1000));
    return msg ? msg->get_payload_str() : "";
  }
};

TEST_P(DurabilityTest, LogsTheModeItRunsIn) {
  std::string expected = std::string("durability ") + GetParam();
  if (std::string(GetParam()) != "immediate") expected += ", sync every 5 ms";
  EXPECT_TRUE(wait_until([&] { return broker_.stderr_tail().find(expected) != std::string::npos; },
                         milliseconds(2000)))
      << broker_.stderr_tail();
}

TEST_P(DurabilityTest, Qos1FlowsAndStateSurvivesACleanRestart) {
  PahoClient sub(port(), "dur-sub");
  PahoConnectOptions persistent;
  persistent.clean_session = false;
  ASSERT_TRUE(sub.connect(persistent));
  ASSERT_TRUE(sub.subscribe("dur/+", 1));
  PahoClient pub(port(), "dur-pub");
  ASSERT_TRUE(pub.connect());
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(pub.publish("dur/a", std::to_string(i), 1));
  std::vector<::mqtt::const_message_ptr> got;
  ASSERT_TRUE(sub.receive_n(50, &got));
  for (int i = 0; i < 50; ++i) EXPECT_EQ(got[i]->get_payload_str(), std::to_string(i));

  // Retained, and QoS 1 messages queued for the persistent session while it is away.
  ASSERT_TRUE(pub.publish("dur/kept", "retained-value", 1, /*retain=*/true));
  ASSERT_TRUE(sub.receive());  // its live copy
  ASSERT_TRUE(sub.disconnect());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(pub.publish("dur/b", "queued-" + std::to_string(i), 1));
  ASSERT_TRUE(pub.disconnect());

  ASSERT_TRUE(broker_.restart());
  EXPECT_EQ(retained("dur/kept"), "retained-value");
  PahoClient back(port(), "dur-sub");
  bool session_present = false;
  ASSERT_TRUE(back.connect(persistent, &session_present));
  EXPECT_TRUE(session_present);
  std::vector<::mqtt::const_message_ptr> queued;
  ASSERT_TRUE(back.receive_n(5, &queued));
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(queued[i]->get_payload_str(), "queued-" + std::to_string(i));
}

TEST_P(DurabilityTest, AcknowledgedWritesSurviveAProcessCrash) {
  {
    PahoClient pub(port(), "dur-crash-pub");
    ASSERT_TRUE(pub.connect());
    // publish() returns once the PUBACK arrived: the broker acknowledged the write.
    for (int i = 0; i < 20; ++i) {
      ASSERT_TRUE(pub.publish("dur/crash/" + std::to_string(i), "v" + std::to_string(i), 1, true));
    }
  }
  ASSERT_TRUE(broker_.crash_and_restart());  // SIGKILL: no shutdown, no final sync
  PahoClient sub(port(), "dur-crash-sub");
  ASSERT_TRUE(sub.connect());
  ASSERT_TRUE(sub.subscribe("dur/crash/#", 1));
  std::vector<::mqtt::const_message_ptr> got;
  ASSERT_TRUE(sub.receive_n(20, &got)) << "an acknowledged retained message was lost";
  std::vector<std::string> payloads;
  for (const auto& m : got) payloads.push_back(m->get_payload_str());
  std::sort(payloads.begin(), payloads.end());
  EXPECT_EQ(payloads.front(), "v0");
  EXPECT_EQ(std::count(payloads.begin(), payloads.end(), "v19"), 1);
}

INSTANTIATE_TEST_SUITE_P(Modes, DurabilityTest, ::testing::Values("immediate", "periodic", "none"),
                         [](const auto& mode) { return std::string(mode.param); });

TEST(DurabilityFlagTest, BadModeExitsNonZeroWithOneLine) {
  TempDir dir;
  for (const std::vector<std::string>& bad :
       {std::vector<std::string>{"--durability", "sometimes"},
        std::vector<std::string>{"--durability-interval-ms", "0"}}) {
    std::vector<std::string> argv = {TOPICDB_BINARY, "serve",      "--listen",
                                     "127.0.0.1:0",  "--data-dir", dir.path()};
    argv.insert(argv.end(), bad.begin(), bad.end());
    ProcessResult result = run_process(argv, milliseconds(10000));
    ASSERT_FALSE(result.timed_out);
    EXPECT_EQ(result.exit_code, 2) << result.output;
    EXPECT_EQ(std::count(result.output.begin(), result.output.end(), '\n'), 1) << result.output;
    EXPECT_NE(result.output.find("topicdb: --" + bad[0].substr(2)), std::string::npos)
        << result.output;
  }
}

}  // namespace
}  // namespace topicdb::itest
