// Shared by the storage tests: a temporary directory, a libuv loop to run until a
// condition holds, and small SQL helpers over a separate connection.
#pragma once

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <uv.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>

#include "storage/schema_versions.h"
#include "storage/sqlite_helpers.h"
#include "storage/store_thread.h"

namespace topicdb::storage::testing {

// A component with one table of (id, note) rows.
inline ComponentSchema notes_schema() {
  ComponentSchema schema;
  schema.component = "notes";
  schema.migrations.push_back([](sqlite3* db) {
    return sqlite::exec(db, "CREATE TABLE notes(id INTEGER PRIMARY KEY, note TEXT NOT NULL)");
  });
  return schema;
}

// Work that inserts one notes row.
inline StoreThread::Work insert_note(int id, std::string note = "n") {
  return [id, note](sqlite3* db) {
    return sqlite::exec(db, fmt::format("INSERT INTO notes VALUES({}, '{}')", id, note).c_str());
  };
}

// Runs `loop` until `done` holds, bounded by `timeout_ms`; returns done().
inline bool run_loop_until(uv_loop_t* loop, const std::function<bool()>& done,
                           uint64_t timeout_ms = 5000) {
  uv_update_time(loop);
  struct Ctx {
    const std::function<bool()>* done;
    uint64_t deadline;
  } ctx{&done, uv_now(loop) + timeout_ms};
  uv_timer_t timer;
  uv_timer_init(loop, &timer);
  timer.data = &ctx;
  uv_timer_start(
      &timer,
      [](uv_timer_t* t) {
        auto* c = static_cast<Ctx*>(t->data);
        if ((*c->done)() || uv_now(t->loop) >= c->deadline) uv_stop(t->loop);
      },
      1, 1);
  if (!done()) uv_run(loop, UV_RUN_DEFAULT);
  uv_close(reinterpret_cast<uv_handle_t*>(&timer), nullptr);
  uv_run(loop, UV_RUN_NOWAIT);
  return done();
}

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/topicdb_storage_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/topicdb.sqlite3";
    ASSERT_EQ(uv_loop_init(&loop_), 0);
  }

  void TearDown() override {
    before_loop_close();
    // Releases the async handle that close() handed to uv_close (the documented contract).
    uv_run(&loop_, UV_RUN_NOWAIT);
    EXPECT_EQ(uv_loop_close(&loop_), 0) << "a handle was left open";
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // Destroys what holds loop handles; called before the loop is closed.
  virtual void before_loop_close() {}

  // Runs the loop until `done` holds, bounded by a 5 s timeout; returns done().
  bool run_loop_until(const std::function<bool()>& done) {
    return testing::run_loop_until(&loop_, done);
  }
  // The same with a timeout of `timeout_ms`: also to check that something does NOT happen.
  bool run_loop_until_for(uint64_t timeout_ms, const std::function<bool()>& done) {
    return testing::run_loop_until(&loop_, done, timeout_ms);
  }

  // The first column of the first row of `sql`, on a connection of its own (-1 on error).
  int64_t query(const std::string& sql) {
    sqlite3* db = nullptr;
    int64_t value = -1;
    if (sqlite3_open(path_.c_str(), &db) == SQLITE_OK) {
      sqlite3_stmt* stmt = nullptr;
      if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
          sqlite3_step(stmt) == SQLITE_ROW) {
        value = sqlite3_column_int64(stmt, 0);
      }
      sqlite3_finalize(stmt);
    }
    sqlite3_close(db);
    return value;
  }

  // Runs `sql` on a connection of its own; false on error.
  bool exec(const std::string& sql) {
    sqlite3* db = nullptr;
    bool ok = sqlite3_open(path_.c_str(), &db) == SQLITE_OK &&
              sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK;
    sqlite3_close(db);
    return ok;
  }

  std::string file_bytes() const {
    std::ifstream in(path_, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  uv_loop_t loop_;
  std::string dir_;
  std::string path_;
};

}  // namespace topicdb::storage::testing
