// Record writes: the create, update and delete rules of $DB and their SQL, run on the store
// thread inside a StoreThread submission. Each committed change also writes its change-log
// (outbox) row, whose seq is the event's sequence, in the same submission.
#pragma once

#include <sqlite3.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "db/answer.h"
#include "db/change_event.h"
#include "db/constraint_enforcer.h"
#include "db/metadata.h"
#include "db/request.h"
#include "storage/sqlite_helpers.h"

namespace topicdb::db {

// What a write produced: the answer and the events of its committed changes (seq order).
struct WriteResult {
  Answer answer;
  std::vector<ChangeEvent> events;
};

// A create checked on the loop thread (no database needed): the record with its "id", and
// its TTL deadline.
struct CreateInput {
  Json record;
  std::string id;
  std::optional<int64_t> expires_at_ms;
};

// Create rules that need no database: the body must be an object; "id" optional (a string
// passing check_record_id, else `assigned_id` is used); "ttl_secs" optional, a positive
// integer, not stored as a field: it sets the deadline now_ms + ttl_secs*1000 and adds
// "_expires_at" (that deadline, Unix ms) to the record; other fields starting with '_' are a
// 400. On error returns false with the answer in `error`.
bool check_create(Json body, const std::string& assigned_id, int64_t now_ms, CreateInput* input,
                  Answer* error);
// Update rules that need no database: an object; "_version" optional non-negative integer
// (the condition); other '_' fields are a 400. "id" is checked against the record later.
bool check_update(const Json& body, Answer* error);

// Store thread only: owns the prepared statements of the connection it last saw (prepared
// once, reused for every write) and borrows the schema catalog. Constraints (db/constraints.h)
// are enforced in the same submission: a create or update that violates one is a 409 and
// writes nothing; a delete runs the enforcer's DeletePlan (cascades, set_null updates), each
// affected record with its own change event, in plan order.
class RecordWriter {
 public:
  explicit RecordWriter(Catalog* catalog) : catalog_(catalog), enforcer_(catalog) {}

  // Each returns a non-ok Status only when SQL failed (the caller's submission is rolled
  // back and answered 503); refusals (404, 409, 400) are answers with an ok Status.
  Status create(sqlite3* db, const std::string& entity, CreateInput input,
                const std::string& client_id, int64_t now_ms, WriteResult* out);
  // Partial update: top-level merge of `patch`; "_version" is the condition.
  Status update(sqlite3* db, const std::string& entity, const std::string& id, const Json& patch,
                const std::string& client_id, int64_t now_ms, WriteResult* out);
  Status remove(sqlite3* db, const std::string& entity, const std::string& id,
                const std::string& client_id, int64_t now_ms, WriteResult* out);
  // TTL: deletes up to `limit` records whose deadline is <= now_ms, each with a Delete event
  // (client_id ""), applying their foreign keys' on_delete (cascade, set_null). A record a
  // restrict foreign key still protects is held instead: it stays readable (expires_at_ms
  // cleared, a db_expiry_held row) and goes on a later sweep once no child remains.
  // `more` tells whether the batch was full.
  Status expire(sqlite3* db, int64_t now_ms, int limit, std::vector<ChangeEvent>* events,
                bool* more);

  ConstraintEnforcer& enforcer() { return enforcer_; }

 private:
  enum Statement : size_t {
    kSelectRecord,
    kInsertRecord,
    kUpdateRecord,
    kDeleteRecord,
    kInsertChange,
    kSelectExpired,
    kHoldExpiry,
    kInsertHeld,
    kSelectHeld,
    kDeleteHeld,
    kStatementCount,
  };
  struct Stored {
    int64_t version = 0;
    std::optional<int64_t> expires_at_ms;
    int partition = 0;
    std::string body;
  };

  Status prepare(sqlite3* db);
  // Reads the record; false if absent. Expired rows are reported as they are.
  Status select(sqlite3* db, const std::string& entity, const std::string& id, Stored* stored,
                bool* found);
  Status delete_row(sqlite3* db, const std::string& entity, const std::string& id);
  // Inserts the change-log row and appends its event.
  Status log_change(sqlite3* db, const std::string& entity, const std::string& id, int partition,
                    const char* op, std::string data, const std::string& client_id, int64_t now_ms,
                    std::vector<ChangeEvent>* events);

  // Runs `plan` (from ConstraintEnforcer::plan_delete): deletes and set_null updates, each
  // with its change-log row and event.
  Status apply_plan(sqlite3* db, const DeletePlan& plan, const std::string& client_id,
                    int64_t now_ms, std::vector<ChangeEvent>* events);
  // Deletes an expired record with its on_delete rules, or holds it (see expire()).
  Status expire_one(sqlite3* db, const std::string& entity, const std::string& id,
                    int64_t deadline_ms, bool already_held, int64_t now_ms,
                    std::vector<ChangeEvent>* events, bool* deleted);

  Catalog* catalog_;
  ConstraintEnforcer enforcer_;
  sqlite3* prepared_for_ = nullptr;
  std::array<storage::sqlite::StatementPtr, kStatementCount> statements_;
};

}  // namespace topicdb::db
