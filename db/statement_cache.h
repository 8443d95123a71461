// StatementCache: the prepared statements of one reader connection, kept by SQL text so the
// hot read path (a point read, a list of a known shape) never prepares twice. A reader
// thread binds its cache to itself (ThreadBinding); code that only has the sqlite3* finds it
// through Statement::prepare, and falls back to one-off statements on other connections.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace topicdb::db {

class StatementCache {
 public:
  explicit StatementCache(sqlite3* db, size_t capacity = 128);
  ~StatementCache();
  StatementCache(const StatementCache&) = delete;
  StatementCache& operator=(const StatementCache&) = delete;

  sqlite3* db() const { return db_; }
  size_t size() const { return entries_.size(); }

  // The cache bound to the calling thread if it serves `db`, else null.
  static StatementCache* for_connection(sqlite3* db);

  // Binds a cache to the calling thread for its lifetime (a reader thread's whole life).
  class ThreadBinding {
   public:
    explicit ThreadBinding(StatementCache* cache);
    ~ThreadBinding();
    ThreadBinding(const ThreadBinding&) = delete;
    ThreadBinding& operator=(const ThreadBinding&) = delete;

   private:
    StatementCache* previous_;
  };

 private:
  friend class Statement;
  struct Entry {
    sqlite3_stmt* stmt = nullptr;
    uint64_t last_use = 0;
    bool in_use = false;
  };
  // A statement for `sql` marked in use, or null if it is already in use (the caller then
  // prepares a one-off) or cannot be prepared.
  sqlite3_stmt* acquire(std::string_view sql, int* rc);
  void release(sqlite3_stmt* stmt);
  void evict_one();

  sqlite3* db_;
  size_t capacity_;
  uint64_t clock_ = 0;
  // Transparent: a lookup by string_view allocates nothing (the hot path looks up per read).
  struct SqlHash {
    using is_transparent = void;
    size_t operator()(std::string_view sql) const { return std::hash<std::string_view>{}(sql); }
  };
  std::unordered_map<std::string, Entry, SqlHash, std::equal_to<>> entries_;
  std::unordered_map<sqlite3_stmt*, Entry*> by_stmt_;
};

// A prepared statement borrowed from the connection's cache (reset and unbound when it goes
// back) or, without a cache, prepared for this use and finalized after it.
class Statement {
 public:
  // Null get() when preparing failed: the connection's errmsg says why.
  static Statement prepare(sqlite3* db, std::string_view sql);
  Statement() = default;
  ~Statement();
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;

  sqlite3_stmt* get() const { return stmt_; }
  explicit operator bool() const { return stmt_ != nullptr; }

 private:
  Statement(sqlite3_stmt* stmt, StatementCache* cache) : stmt_(stmt), cache_(cache) {}
  void reset();

  sqlite3_stmt* stmt_ = nullptr;
  StatementCache* cache_ = nullptr;  // null: a one-off statement, finalized here
};

}  // namespace topicdb::db
