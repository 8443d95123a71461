#include "db/statement_cache.h"

#include <utility>

namespace topicdb::db {

namespace {
thread_local StatementCache* bound_cache = nullptr;
}  // namespace

StatementCache::StatementCache(sqlite3* db, size_t capacity)
    : db_(db), capacity_(capacity == 0 ? 1 : capacity) {}

StatementCache::~StatementCache() {
  for (auto& [sql, entry] : entries_) sqlite3_finalize(entry.stmt);
}

StatementCache* StatementCache::for_connection(sqlite3* db) {
  StatementCache* cache = bound_cache;
  return cache != nullptr && cache->db_ == db ? cache : nullptr;
}

StatementCache::ThreadBinding::ThreadBinding(StatementCache* cache) : previous_(bound_cache) {
  bound_cache = cache;
}

StatementCache::ThreadBinding::~ThreadBinding() { bound_cache = previous_; }

sqlite3_stmt* StatementCache::acquire(std::string_view sql, int* rc) {
  *rc = SQLITE_OK;
  auto it = entries_.find(sql);
  if (it != entries_.end()) {
    if (it->second.in_use) return nullptr;
    it->second.in_use = true;
    it->second.last_use = ++clock_;
    return it->second.stmt;
  }
  sqlite3_stmt* stmt = nullptr;
  *rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                           &stmt, nullptr);
  if (*rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return nullptr;
  }
  if (entries_.size() >= capacity_) evict_one();
  auto [inserted, ok] = entries_.emplace(std::string(sql), Entry{stmt, ++clock_, true});
  by_stmt_[stmt] = &inserted->second;  // unordered_map nodes never move
  return stmt;
}

void StatementCache::release(sqlite3_stmt* stmt) {
  auto it = by_stmt_.find(stmt);
  if (it != by_stmt_.end()) it->second->in_use = false;
}

void StatementCache::evict_one() {
  auto victim = entries_.end();
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    if (it->second.in_use) continue;
    if (victim == entries_.end() || it->second.last_use < victim->second.last_use) victim = it;
  }
  if (victim == entries_.end()) return;  // all in use: grow past the bound for a while
  by_stmt_.erase(victim->second.stmt);
  sqlite3_finalize(victim->second.stmt);
  entries_.erase(victim);
}

Statement Statement::prepare(sqlite3* db, std::string_view sql) {
  if (StatementCache* cache = StatementCache::for_connection(db)) {
    int rc = SQLITE_OK;
    sqlite3_stmt* stmt = cache->acquire(sql, &rc);
    if (stmt != nullptr) return Statement(stmt, cache);
    if (rc != SQLITE_OK) return Statement();
    // Already in use further up the stack: a one-off below.
  }
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr) !=
      SQLITE_OK) {
    sqlite3_finalize(stmt);
    return Statement();
  }
  return Statement(stmt, nullptr);
}

Statement::~Statement() { reset(); }

Statement::Statement(Statement&& other) noexcept
    : stmt_(std::exchange(other.stmt_, nullptr)), cache_(std::exchange(other.cache_, nullptr)) {}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    reset();
    stmt_ = std::exchange(other.stmt_, nullptr);
    cache_ = std::exchange(other.cache_, nullptr);
  }
  return *this;
}

void Statement::reset() {
  if (stmt_ == nullptr) return;
  if (cache_ != nullptr) {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    cache_->release(stmt_);
  } else {
    sqlite3_finalize(stmt_);
  }
  stmt_ = nullptr;
  cache_ = nullptr;
}

}  // namespace topicdb::db
