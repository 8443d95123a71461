// Shared by the store's tests: a real StoreThread on a temporary database with the db tables,
// a real uv loop, a ManualClock, a DocumentStore on them and a sink that records events.
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "base/manual_clock.h"
#include "db/change_event.h"
#include "db/db_schema.h"
#include "db/document_store.h"
#include "storage/store_thread.h"
#include "tests/storage/store_test_util.h"

namespace topicdb::db::testing {

class RecordingSink : public EventSink {
 public:
  void on_change(const ChangeEvent& event) override { events.push_back(event); }
  std::vector<ChangeEvent> events;
};

class DocumentStoreTest : public storage::testing::StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    open_store();
  }

  void before_loop_close() override { close_store(); }

  void open_store(DocumentStoreOptions options = {}) {
    options_ = options;
    auto store = storage::StoreThread::open(
        &loop_, path_, {db_schema()},
        {.durability = storage::Durability::kNone, .durability_interval_ms = 1});
    ASSERT_TRUE(store.is_ok()) << store.status().to_string();
    store_ = std::move(store).value();
    auto docs = DocumentStore::open(&loop_, &clock_, store_.get(), options);
    ASSERT_TRUE(docs.is_ok()) << docs.status().to_string();
    docs_ = std::move(docs).value();
    ASSERT_TRUE(docs_->start(&sink_).is_ok());
    // The outbox load is the first submission: once the store is idle it has been routed.
    store_->flush();
  }

  void close_store() {
    if (docs_) {
      EXPECT_TRUE(docs_->close().is_ok());
    }
    docs_.reset();
    if (store_) store_->close();
    store_.reset();
    uv_run(&loop_, UV_RUN_NOWAIT);
  }

  void reopen(DocumentStoreOptions options) {
    close_store();
    open_store(options);
  }
  void reopen() { reopen(options_); }

  Answer run(Request request) {
    std::optional<Answer> answer;
    docs_->execute(std::move(request), [&](Answer a) { answer = std::move(a); });
    EXPECT_TRUE(run_loop_until([&] { return answer.has_value(); })) << "no answer";
    // Reads answer with the stored text (data_text); the tests look into the value.
    if (answer) {
      EXPECT_TRUE(answer->parse_data_text()) << answer->data_text;
    }
    return answer.value_or(Answer::error(599, "no answer"));
  }

  static Request make(Operation op, std::string entity, std::string id, Json body,
                      std::string client = "client-1") {
    Request request;
    request.op = op;
    request.entity = std::move(entity);
    request.id = std::move(id);
    request.body = std::move(body);
    request.client_id = std::move(client);
    return request;
  }
  Answer create(const std::string& entity, Json body, const std::string& client = "client-1") {
    return run(make(Operation::kCreate, entity, "", std::move(body), client));
  }
  Answer update(const std::string& entity, const std::string& id, Json body) {
    return run(make(Operation::kUpdate, entity, id, std::move(body)));
  }
  Answer remove(const std::string& entity, const std::string& id) {
    return run(make(Operation::kDelete, entity, id, Json::object()));
  }
  Answer read(const std::string& entity, const std::string& id) {
    return run(make(Operation::kRead, entity, id, Json::object()));
  }
  Answer replay(Json body) { return run(make(Operation::kReplay, "", "", std::move(body))); }

  // Waits for the sink to hold `n` events.
  bool wait_events(size_t n) {
    return run_loop_until([&] { return sink_.events.size() >= n; });
  }

  ManualClock clock_{1'700'000'000'000};
  RecordingSink sink_;
  DocumentStoreOptions options_;
  std::unique_ptr<storage::StoreThread> store_;
  std::unique_ptr<DocumentStore> docs_;
};

}  // namespace topicdb::db::testing
