// The $DB handler's plugin hooks (DbRequestHooks) with a fake store: a veto answers with
// the hook's error and the store never sees the request; after() hears only ok writes.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "db/adapter/db_topic_handler.h"
#include "tests/broker/harness/broker_harness.h"

namespace topicdb::db::adapter {
namespace {

using broker::harness::BrokerHarness;
using broker::harness::TestClient;

// Vetoes creates of entity "forbidden"; remembers what it was asked.
class FakeHooks final : public DbRequestHooks {
 public:
  std::optional<Answer> before(const broker::ClientIdentity& client,
                               const Request& request) override {
    asked.push_back(std::string(client.client_id) + " " + std::string(operation_name(request.op)) +
                    " " + request.entity);
    if (request.op == Operation::kCreate && request.entity == "forbidden") {
      return Answer::error(422, "no forbidden things");
    }
    return std::nullopt;
  }
  void after(const broker::ClientIdentity& client, const Request& request,
             const Answer& answer) override {
    after_calls.push_back(std::string(client.client_id) + " " +
                          std::string(operation_name(request.op)) + " " + answer.data.dump());
  }
  std::vector<std::string> asked, after_calls;
};

class DbRequestHooksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    DbTopicHandlerOptions options;
    options.hooks = &hooks_;
    handler_ = std::make_unique<DbTopicHandler>(
        &h_.broker(), &h_.clock(),
        [this](Request request, std::function<void(Answer)> done) {
          runs_.push_back({std::move(request), std::move(done)});
        },
        options);
    h_.broker().add_reserved_handler("$DB/", handler_.get());
  }
  static mqtt::Properties reply_to(std::string topic) {
    mqtt::Properties props;
    props.response_topic = std::move(topic);
    props.correlation_data = "c";
    return props;
  }

  FakeHooks hooks_;
  std::vector<std::pair<Request, std::function<void(Answer)>>> runs_;
  BrokerHarness h_;
  std::unique_ptr<DbTopicHandler> handler_;
};

TEST_F(DbRequestHooksTest, VetoAnswersWithTheHooksErrorAndNeverReachesTheStore) {
  TestClient& c = h_.connect("alice");
  ASSERT_EQ(c.subscribe("reply/alice", 1), 1);
  c.publish("$DB/forbidden/create", R"({"a":1})", 1, false, reply_to("reply/alice"));
  h_.run();
  EXPECT_TRUE(runs_.empty()) << "a vetoed write reached the store";
  auto answer = c.next();
  ASSERT_TRUE(answer && answer->is(mqtt::PacketType::kPublish));
  Json envelope = Json::parse(answer->publish().payload);
  EXPECT_EQ(envelope["status"], "error");
  EXPECT_EQ(envelope["code"], 422);
  EXPECT_EQ(envelope["message"], "no forbidden things");
  EXPECT_TRUE(hooks_.after_calls.empty());
  EXPECT_EQ(hooks_.asked, (std::vector<std::string>{"alice create forbidden"}));
}

TEST_F(DbRequestHooksTest, AfterHearsOkWritesOnly) {
  TestClient& c = h_.connect("bob");
  ASSERT_EQ(c.subscribe("reply/bob", 1), 1);
  c.publish("$DB/things/create", R"({"a":1})", 1, false, reply_to("reply/bob"));
  c.publish("$DB/things/create", R"({"a":2})", 1, false, reply_to("reply/bob"));
  c.publish("$DB/things/t1", "{}", 1, false, reply_to("reply/bob"));
  ASSERT_EQ(runs_.size(), 3u);
  std::exchange(runs_[0].second, nullptr)(Answer::ok(Json{{"id", "t1"}}));
  std::exchange(runs_[1].second, nullptr)(Answer::conflict("taken"));
  std::exchange(runs_[2].second, nullptr)(Answer::ok(Json{{"id", "t1"}}));
  h_.run();
  EXPECT_EQ(hooks_.after_calls, (std::vector<std::string>{R"(bob create {"id":"t1"})"}));
  EXPECT_EQ(hooks_.asked.size(), 3u) << "reads are asked too";
}

}  // namespace
}  // namespace topicdb::db::adapter
