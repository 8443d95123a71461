// RequestDedupe: resends are found by packet id (only with DUP) or correlation data, only
// with the same topic and payload, within the window; memory stays within its caps.
#include "db/adapter/request_dedupe.h"

#include <gtest/gtest.h>

#include <string>

#include "base/manual_clock.h"

namespace topicdb::db::adapter {
namespace {

RequestKey key(std::string client, std::optional<uint16_t> packet_id,
               std::optional<std::string> correlation, std::string_view payload = "{}") {
  RequestKey k;
  k.client_id = std::move(client);
  k.packet_id = packet_id;
  k.correlation_data = std::move(correlation);
  k.fingerprint = RequestDedupe::fingerprint("$DB/users/create", payload);
  return k;
}

TEST(RequestDedupeTest, PacketIdMatchesOnlyAResend) {
  ManualClock clock;
  RequestDedupe d(&clock);
  auto entry = d.start(key("c", 7, std::nullopt));
  EXPECT_EQ(d.find(key("c", 7, std::nullopt), /*is_resend=*/false), nullptr);
  EXPECT_EQ(d.find(key("c", 7, std::nullopt), true), entry);
  EXPECT_EQ(d.find(key("other", 7, std::nullopt), true), nullptr);
  EXPECT_EQ(d.find(key("c", 8, std::nullopt), true), nullptr);
  EXPECT_EQ(d.find(key("c", 7, std::nullopt, R"({"x":1})"), true), nullptr)
      << "another payload under the same id is another request";
}

TEST(RequestDedupeTest, WaitersGetTheAnswerAndItExpiresAfterTheWindow) {
  ManualClock clock;
  RequestDedupe d(&clock, {.window_ms = 1000});
  auto entry = d.start(key("c", std::nullopt, "corr"));
  std::string heard;
  d.find(key("c", std::nullopt, "corr"), false)->waiters.push_back([&](const std::string& e) {
    heard = e;
  });
  for (auto& w : d.finish(entry, "answer")) w(entry->envelope);
  EXPECT_EQ(heard, "answer");
  auto again = d.find(key("c", std::nullopt, "corr"), false);
  ASSERT_NE(again, nullptr);
  EXPECT_TRUE(again->answered);
  EXPECT_EQ(again->envelope, "answer");
  clock.advance_ms(1001);
  EXPECT_EQ(d.find(key("c", std::nullopt, "corr"), false), nullptr);
  EXPECT_EQ(d.size(), 0u);
  EXPECT_EQ(d.answered_bytes(), 0u);
}

TEST(RequestDedupeTest, OldestAnswersGoPastTheCaps) {
  ManualClock clock;
  RequestDedupe d(&clock, {.window_ms = 60'000, .max_entries = 10, .max_bytes = 1 << 20});
  for (int i = 0; i < 100; ++i) {
    auto e = d.start(key("c", std::nullopt, "k" + std::to_string(i)));
    d.finish(e, "answer");
  }
  EXPECT_EQ(d.size(), 10u);
  EXPECT_EQ(d.find(key("c", std::nullopt, "k0"), false), nullptr);
  EXPECT_NE(d.find(key("c", std::nullopt, "k99"), false), nullptr);

  RequestDedupe small(&clock, {.window_ms = 60'000, .max_entries = 1000, .max_bytes = 10'000});
  for (int i = 0; i < 100; ++i) {
    auto e = small.start(key("c", std::nullopt, "k" + std::to_string(i)));
    small.finish(e, std::string(1000, 'a'));
  }
  EXPECT_LE(small.answered_bytes(), 10'000u);
  EXPECT_NE(small.find(key("c", std::nullopt, "k99"), false), nullptr);
}

TEST(RequestDedupeTest, AReusedKeyIsNotDroppedWithTheOldEntry) {
  ManualClock clock;
  RequestDedupe d(&clock, {.window_ms = 1000});
  auto first = d.start(key("c", 3, std::nullopt));
  d.finish(first, "first");
  clock.advance_ms(500);
  // The id comes back for a new request (no DUP): it replaces the first under that key.
  auto second = d.start(key("c", 3, std::nullopt, R"({"n":2})"));
  clock.advance_ms(600);  // the first expires now; the second still runs
  EXPECT_EQ(d.find(key("c", 3, std::nullopt, R"({"n":2})"), true), second);
}

}  // namespace
}  // namespace topicdb::db::adapter
