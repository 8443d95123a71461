// Shared by the query tests: a temporary database with the document store's tables (opened
// through a StoreThread, as the server does), rows put in with plain SQL, and a read-only
// connection to run reads and lists on.
#pragma once

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "db/answer.h"
#include "db/db_schema.h"
#include "db/names.h"
#include "db/reads.h"
#include "db/request.h"
#include "storage/store_thread.h"
#include "tests/storage/store_test_util.h"

namespace topicdb::db::testing {

inline constexpr int64_t kNow = 1'000'000;

class QueryTest : public storage::testing::StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    auto store = storage::StoreThread::open(
        &loop_, path_, {db_schema()},
        {.durability = storage::Durability::kNone, .durability_interval_ms = 1});
    ASSERT_TRUE(store.is_ok()) << store.status().to_string();
    store_ = std::move(store).value();
    ASSERT_EQ(sqlite3_open_v2(path_.c_str(), &writer_, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
    ASSERT_EQ(sqlite3_open_v2(path_.c_str(), &reader_, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  }

  void before_loop_close() override {
    sqlite3_close_v2(reader_);
    sqlite3_close_v2(writer_);
    reader_ = nullptr;
    writer_ = nullptr;
    if (store_) store_->close();
    store_.reset();
  }

  void sql(const std::string& text) {
    char* error = nullptr;
    ASSERT_EQ(sqlite3_exec(writer_, text.c_str(), nullptr, nullptr, &error), SQLITE_OK)
        << (error != nullptr ? error : "") << " in " << text;
  }

  // Stores `body` (an object) as record `id` of `entity`, adding "id" and "_version": 1.
  void put(const std::string& entity, const std::string& id, Json body,
           std::optional<int64_t> expires_at_ms = std::nullopt) {
    body["id"] = id;
    if (!body.contains("_version")) body["_version"] = 1;
    sqlite3_stmt* stmt = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(writer_,
                                 "INSERT INTO db_records(entity,id,partition,version,"
                                 "expires_at_ms,body) VALUES(?1,?2,0,?3,?4,?5)",
                                 -1, &stmt, nullptr),
              SQLITE_OK);
    std::string text = body.dump();
    sqlite3_bind_text(stmt, 1, entity.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(stmt, 2, id.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(stmt, 3, body["_version"].get<int64_t>());
    if (expires_at_ms) {
      sqlite3_bind_int64(stmt, 4, *expires_at_ms);
    } else {
      sqlite3_bind_null(stmt, 4);
    }
    sqlite3_bind_text(stmt, 5, text.c_str(), -1, SQLITE_TRANSIENT);
    EXPECT_EQ(sqlite3_step(stmt), SQLITE_DONE) << sqlite3_errmsg(writer_);
    sqlite3_finalize(stmt);
  }

  void set_schema(const std::string& entity, const Json& definition) {
    sqlite3_stmt* stmt = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(writer_,
                                 "INSERT OR REPLACE INTO db_metadata(kind,entity,name,definition,"
                                 "revision) VALUES('schema',?1,'',?2,1)",
                                 -1, &stmt, nullptr),
              SQLITE_OK);
    std::string text = definition.dump();
    sqlite3_bind_text(stmt, 1, entity.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(stmt, 2, text.c_str(), -1, SQLITE_TRANSIENT);
    EXPECT_EQ(sqlite3_step(stmt), SQLITE_DONE);
    sqlite3_finalize(stmt);
  }

  // The index metadata.cc creates for `fields` of `entity` (the plan's agreed DDL).
  void create_index(const std::string& name, const std::string& entity,
                    const std::vector<std::string>& fields) {
    std::string columns;
    for (const std::string& f : fields)
      columns += (columns.empty() ? "" : ",") + json_extract_sql(f);
    sql("CREATE INDEX \"" + name + "\" ON db_records(" + columns +
        ") WHERE entity=" + entity_literal(entity));
  }

  Answer read(const std::string& entity, const std::string& id, Json body = Json::object(),
              int64_t now_ms = kNow) {
    Request request;
    request.op = Operation::kRead;
    request.entity = entity;
    request.id = id;
    request.body = std::move(body);
    return parsed(run_read(reader_, request, now_ms));
  }

  Answer list(const std::string& entity, Json body = Json::object(), QueryLimits limits = {},
              int64_t now_ms = kNow) {
    Request request;
    request.op = Operation::kList;
    request.entity = entity;
    request.body = std::move(body);
    return parsed(run_list(reader_, request, limits, now_ms));
  }

  // Plain reads and lists answer with the stored text (data_text); the tests look into the
  // value. reads_test checks the text itself.
  static Answer parsed(Answer answer) {
    EXPECT_TRUE(answer.parse_data_text()) << answer.data_text;
    return answer;
  }

  // The ids of a list answer, in order (fails the test on an error answer).
  std::vector<std::string> ids(const Answer& answer) {
    std::vector<std::string> out;
    EXPECT_EQ(answer.code, 200) << answer.message;
    if (!answer.data.is_array()) return out;
    for (const Json& record : answer.data) out.push_back(record.value("id", std::string("?")));
    return out;
  }

  std::vector<std::string> list_ids(const std::string& entity, Json body) {
    return ids(list(entity, std::move(body)));
  }

  std::unique_ptr<storage::StoreThread> store_;
  sqlite3* writer_ = nullptr;
  sqlite3* reader_ = nullptr;
};

}  // namespace topicdb::db::testing
