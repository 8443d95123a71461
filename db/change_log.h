// The change log (db_changes): the outbox the events leave from, replay of an entity's
// events after a sequence number, and pruning to the retention window. db_state keeps
// 'routed_seq' (every event up to it left) and 'pruned_seq' (every row up to it may be gone:
// replay from before it is a 410).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <vector>

#include "base/status.h"
#include "db/answer.h"
#include "db/change_event.h"
#include "db/ownership.h"

namespace topicdb::db {

inline constexpr int64_t kReplayDefaultLimit = 1000;
inline constexpr int64_t kReplayMaxLimit = 10000;

// db_state[key], 0 when unset.
Result<int64_t> read_state(sqlite3* db, const char* key);
Status write_state(sqlite3* db, const char* key, int64_t value);

// Up to `limit` changes with seq > after_seq, in seq order. From 'routed_seq' on, they are
// the events committed but not routed when the process stopped (the outbox).
Status load_changes(sqlite3* db, int64_t after_seq, int64_t limit,
                    std::vector<ChangeEvent>* events);

// kReplay, body {"entity":"users","since":N,"limit":1000}: the entity's events with
// since < sequence <= max_seq (max_seq: the last event that left, so replay never shows a
// sequence a subscriber could not have seen), in order, at most limit (1..10000, default
// 1000). 410 when since < pruned_seq: an event after `since` may have been pruned. Answer
// data: an array of event objects as ChangeEvent::to_json writes them.
// With `owner`, events of an owned entity whose data is not the user's record are left out
// (in SQL: limit counts only the user's).
Answer replay(sqlite3* db, const Json& body, int64_t max_seq, const OwnerScope* owner = nullptr);

struct RetentionPolicy {
  int64_t retention_ms = 0;
  uint64_t retention_count = 0;
  // Never prune past this seq (events not yet routed stay in the outbox).
  int64_t max_prunable_seq = 0;
  // At most this many rows per call, so one sweep never holds the writer long.
  int64_t batch = 50000;
};

// Deletes the oldest rows beyond retention_count, or with at_ms older than now_ms -
// retention_ms, and raises 'pruned_seq'. *pruned: rows deleted.
Status prune_changes(sqlite3* db, int64_t now_ms, const RetentionPolicy& policy, int64_t* pruned);

}  // namespace topicdb::db
