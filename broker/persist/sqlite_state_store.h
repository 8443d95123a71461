// SqliteStateStore: the durable StateStore, one SQLite file in WAL mode.
//
// Writes are copied into operations and queued; a dedicated store thread takes everything
// queued at once and applies it in a single BEGIN IMMEDIATE ... COMMIT (group commit: one
// fsync covers every write that arrived while the previous commit was running). After a
// commit it publishes the highest applied ticket and wakes the loop thread through a
// uv_async_t, whose callback runs the DurableCallback on the loop thread.
//
// A failed statement or commit rolls the transaction back, is logged, and turns health()
// non-ok for good: durable_ticket() stops advancing, so nothing further is acknowledged.
//
// Handle lifetime: the uv_async_t lives in its own heap block that close() hands to
// uv_close and whose close callback frees it, so close() itself never needs the loop to
// run (it may already have stopped at shutdown). The owner must run the loop once more
// after close() (uv_run(loop, UV_RUN_NOWAIT)) before uv_loop_close, to release that
// block. The async handle is unreferenced: the store alone does not keep the loop alive.
#pragma once

#include <sqlite3.h>
#include <uv.h>

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/status.h"
#include "broker/persist/state_store.h"

namespace topicdb::broker {

struct SqliteStateStoreOptions {
  // FULL fsyncs the WAL on every commit, so an acknowledged write survives power loss.
  // NORMAL is only safe against process crashes; meant for tests and benchmarks.
  bool synchronous_full = true;
  // How long a statement waits for a lock held by another connection before failing.
  int busy_timeout_ms = 5000;
};

class SqliteStateStore final : public StateStore {
 public:
  using Options = SqliteStateStoreOptions;
  // The layout written by this build; PRAGMA user_version holds it in the file.
  static constexpr int kSchemaVersion = 1;

  // Opens (creating if needed) the database at `path`; the directory must exist. Call on
  // the loop thread. `loop` may be null: then the DurableCallback only runs from close(),
  // while durable_ticket() still advances (for tools that have no event loop).
  static Result<std::unique_ptr<SqliteStateStore>> open(uv_loop_t* loop, const std::string& path,
                                                        Options options = {});

  ~SqliteStateStore() override;
  SqliteStateStore(const SqliteStateStore&) = delete;
  SqliteStateStore& operator=(const SqliteStateStore&) = delete;

  // Waits until every queued write has been applied, then reads on the caller's thread.
  Result<LoadedState> load() override;

  uint64_t put_session(const StoredSession& session) override;
  uint64_t delete_session(const std::string& client_id) override;
  uint64_t put_subscription(const std::string& client_id,
                            const StoredSubscription& subscription) override;
  uint64_t delete_subscription(const std::string& client_id, const std::string& filter) override;
  uint64_t put_message(const std::string& client_id, const StoredMessage& message) override;
  uint64_t update_message_state(const std::string& client_id, uint64_t seq, uint16_t packet_id,
                                StoredMessage::State state) override;
  uint64_t delete_message(const std::string& client_id, uint64_t seq) override;
  uint64_t put_inbound_qos2(const std::string& client_id, uint16_t packet_id) override;
  uint64_t delete_inbound_qos2(const std::string& client_id, uint16_t packet_id) override;
  uint64_t put_retained(const StoredRetained& retained) override;
  uint64_t delete_retained(const std::string& topic) override;

  uint64_t last_ticket() const override { return last_ticket_; }
  uint64_t durable_ticket() const override {
    return durable_ticket_.load(std::memory_order_acquire);
  }
  void set_durable_callback(DurableCallback callback) override { callback_ = std::move(callback); }

  // Drains the queue, joins the store thread, starts closing the async handle (see the
  // file comment), reports the final durable ticket, and closes the database. Writes after
  // close() get a ticket that never becomes durable. Returns health().
  Status close() override;
  Status health() const override;

  // Number of committed transactions; with group commit this grows slower than tickets.
  uint64_t commits() const { return commits_.load(std::memory_order_relaxed); }

 private:
  struct Op;  // one queued write, defined in the .cc
  enum Statement : size_t {
    kBegin,
    kCommit,
    kRollback,
    kPutSession,
    kDeleteSession,
    kDeleteSessionSubscriptions,
    kDeleteSessionMessages,
    kDeleteSessionInbound,
    kPutSubscription,
    kDeleteSubscription,
    kPutMessage,
    kUpdateMessageState,
    kDeleteMessage,
    kPutInbound,
    kDeleteInbound,
    kPutRetained,
    kDeleteRetained,
    kStatementCount,
  };
  struct DbCloser {
    void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
  };
  struct StatementFinalizer {
    void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
  };
  using StatementPtr = std::unique_ptr<sqlite3_stmt, StatementFinalizer>;

  explicit SqliteStateStore(std::unique_ptr<sqlite3, DbCloser> db);

  Status prepare_statements();
  Status start(uv_loop_t* loop);
  uint64_t submit(Op op);
  void run();  // the store thread
  // Applies one batch in one transaction; on failure rolls back and marks the store failed.
  bool apply_batch(const std::vector<Op>& batch);
  int apply(const Op& op);
  void fail(Status status);
  Result<LoadedState> read_all();
  void report_durable();  // loop thread
  static void on_async(uv_async_t* handle);

  // Store-thread side (guarded by db_mu_; load() and close() take it while the thread is
  // idle or gone, which keeps the connection single-user at any moment).
  std::mutex db_mu_;
  std::unique_ptr<sqlite3, DbCloser> db_;
  std::array<StatementPtr, kStatementCount> statements_;

  // Queue shared between the loop thread and the store thread.
  mutable std::mutex mu_;
  std::condition_variable work_cv_;  // queue became non-empty, or stop_
  std::condition_variable idle_cv_;  // processed_ticket_ advanced
  std::vector<Op> queue_;
  bool stop_ = false;
  uint64_t processed_ticket_ = 0;  // highest ticket the thread applied or discarded
  Status health_;

  std::atomic<bool> failed_{false};
  std::atomic<uint64_t> durable_ticket_{0};
  std::atomic<uint64_t> commits_{0};
  std::thread thread_;
  // Heap block freed by its uv_close callback; null when there is no loop or after close().
  uv_async_t* async_ = nullptr;

  // Loop-thread only.
  uint64_t last_ticket_ = 0;
  uint64_t queued_ticket_ = 0;    // highest ticket actually handed to the thread
  uint64_t reported_ticket_ = 0;  // highest ticket passed to callback_
  DurableCallback callback_;
  bool closed_ = false;
  bool warned_refused_ = false;
};

}  // namespace topicdb::broker
