#include "db/partition.h"

#include <gtest/gtest.h>

#include "base/manual_clock.h"
#include "db/answer.h"
#include "db/change_event.h"
#include "db/record_id.h"

namespace topicdb::db {
namespace {

// Fixed values: the partition of a record must never change between builds, processes or
// platforms (a cluster agrees on them). Computed independently:
//   FNV-1a 64 over entity bytes, 0x00, id bytes; partition = hash mod 256.
TEST(DbPartitionTest, FixedHashValues) {
  EXPECT_EQ(record_hash("", ""), 0xaf63bd4c8601b7dfULL);  // FNV-1a of one 0x00 byte
  EXPECT_EQ(record_hash("users", "1"), 0x04cfc6a380404f48ULL);
  EXPECT_EQ(partition_of("users", "1"), 72);
  EXPECT_EQ(record_hash("users", "alice"), 0x490aabc819988dd3ULL);
  EXPECT_EQ(partition_of("users", "alice"), 211);
  EXPECT_EQ(partition_of("orders", "0190a6e2-7c3b-7000-8000-000000000000"), 192);
  // The separator keeps these apart.
  EXPECT_EQ(partition_of("a", "bc"), 35);
  EXPECT_EQ(partition_of("ab", "c"), 103);
}

TEST(DbRecordIdTest, FormatsUuidV7) {
  EXPECT_EQ(RecordIdGenerator::format(0x0190a6e27c3bULL, 0xabc, 0x0123456789abcdefULL),
            "0190a6e2-7c3b-7abc-8123-456789abcdef");
  ManualClock clock(0x0190a6e27c3bLL);
  RecordIdGenerator ids(&clock);
  std::string previous = ids.next();
  EXPECT_EQ(previous.substr(0, 13), "0190a6e2-7c3b");
  EXPECT_EQ(previous[14], '7');
  EXPECT_TRUE(std::string("89ab").find(previous[19]) != std::string::npos) << "variant 10";
  for (int i = 0; i < 5000; ++i) {  // past the 12-bit counter within one millisecond
    std::string id = ids.next();
    ASSERT_LT(previous, id) << "ids increase within one millisecond";
    previous = id;
  }
}

TEST(DbChangeEventTest, ToJsonIsMqdbsPayload) {
  ChangeEvent event{7, "users", "u\"1", "Update", R"({"id":"u\"1","_version":2})", "c1"};
  EXPECT_EQ(event.to_json(), R"({"sequence":7,"entity":"users","id":"u\"1","operation":"Update",)"
                             R"("data":{"id":"u\"1","_version":2},"client_id":"c1"})");
  EXPECT_EQ(event.topic_path(), "users/events/u\"1");
  EXPECT_EQ(Json::parse(event.to_json())["data"]["_version"], 2);
}

}  // namespace
}  // namespace topicdb::db
