// DocumentStore: the $DB document database on the node's SQLite file. Runs requests:
// writes (create, update, delete, schema and index changes) on the shared StoreThread, so a
// record, its change-log row and the broker's state share one group commit; reads and lists
// on read-only connections (ReaderPool), never on the loop thread. Knows nothing of MQTT:
// db/adapter/ turns PUBLISHes into Requests and Answers into PUBLISHes.
//
// Threads: every public method is called on the loop thread and every callback runs there.
// The StoreThread must outlive the DocumentStore (close() flushes it).
//
// Rules the store implements beyond the table (db/record_writes.h has the details):
// - create: "ttl_secs" (positive integer) is an option, not a field: it sets the record's
//   deadline and adds "_expires_at" (Unix ms) to the record; a read after it is a 404 and
//   the TTL sweep deletes the record with a Delete event whose client_id is "".
// - schema set on an entity whose live records violate the schema: 409 with
//   data {"offending_ids":[up to 10 ids]} and a message naming the first problem; schema get
//   without a schema: 404. A schema names fields; others stay free. "integer" means a JSON
//   integer (5, not 5.0). Defaults fill absent fields on create only.
// - index add of fields that already have an index changes nothing and answers the list.
// - replay answers an array of event objects (the payload of ChangeEvent::to_json), only
//   events that have already left (so never a sequence number a crash could reuse); 410
//   with data {"oldest_since":N} when since < N, N being the highest pruned sequence.
// - events are at least once across a crash: 'routed_seq' is persisted after the events
//   left, and everything after it is routed again by the next start().
// - close() answers every request still running (writes once committed, reads once run).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <uv.h>

#include "base/clock.h"
#include "base/status.h"
#include "db/answer.h"
#include "db/change_event.h"
#include "db/request.h"
#include "storage/store_thread.h"

namespace topicdb::db {

struct DocumentStoreOptions {
  // Limits on one list request; a request past one is a 400 that names it.
  size_t max_list_limit = 10000;
  size_t max_filters = 16;
  size_t max_sort_keys = 4;
  // The change log is kept for this long and at most this many events (the older bound
  // wins); replay from before the window is a 410.
  int64_t event_retention_ms = 24LL * 3600 * 1000;
  uint64_t event_retention_count = 1'000'000;
  // Read-only connections, one thread each.
  int reader_threads = 2;
  // How often expired records are looked for (a record goes within about a second of its
  // deadline; reads never see it after the deadline).
  int64_t ttl_sweep_interval_ms = 250;
  // At start the outbox (events committed but not routed) drains in batches of this many, so
  // a long backlog never sits in memory at once.
  int64_t outbox_batch = 10000;
};

class DocumentStore {
 public:
  using Options = DocumentStoreOptions;
  using Done = std::function<void(Answer)>;

  // The tables (db_schema()) must already exist: the StoreThread was opened with them.
  static Result<std::unique_ptr<DocumentStore>> open(uv_loop_t* loop, Clock* clock,
                                                     storage::StoreThread* store,
                                                     Options options = {});
  ~DocumentStore();
  DocumentStore(const DocumentStore&) = delete;
  DocumentStore& operator=(const DocumentStore&) = delete;

  // Starts the TTL sweep and hands `sink` (borrowed) every event committed but not yet
  // routed (the outbox after a crash), then each new one as it becomes durable.
  Status start(EventSink* sink);
  // Runs `request`; `done` gets the answer exactly once, on the loop thread. A write is
  // answered once committed (and durable in the store's durability mode).
  void execute(Request request, Done done);
  // Stops the sweep and the readers; requests still running are answered 503. Idempotent.
  Status close();

  // Requests accepted and not yet answered.
  size_t in_flight() const;

 private:
  class Impl;
  explicit DocumentStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace topicdb::db
