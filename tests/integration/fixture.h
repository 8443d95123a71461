// Common gtest fixture: one broker process per test, on port 0, in its own temp data dir.
#ifndef TOPICDB_TESTS_INTEGRATION_FIXTURE_H_
#define TOPICDB_TESTS_INTEGRATION_FIXTURE_H_

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/integration/broker_process.h"

namespace topicdb::itest {

class BrokerTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(broker_.start(dir_.path(), broker_args())); }
  // Extra command-line arguments for `topicdb serve`.
  virtual std::vector<std::string> broker_args() const { return {}; }
  uint16_t port() const { return broker_.port(); }

  // Declaration order matters: the broker is killed before its data dir is removed.
  TempDir dir_;
  BrokerProcess broker_;
};

}  // namespace topicdb::itest

#endif  // TOPICDB_TESTS_INTEGRATION_FIXTURE_H_
