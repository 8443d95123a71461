// SqliteStateStore: the durable StateStore, the broker's tables (component "broker") in the
// node's database, written through the node's StoreThread.
//
// Each write is one submission to the StoreThread, which groups everything queued at once
// into one transaction (group commit) and runs each submission in its own savepoint. A
// write that fails alone (e.g. a constraint) is rolled back alone, logged with its client
// id and operation, and counted in failed_writes(); the store keeps going and its ticket
// still counts as durable, so later acknowledgements are not held forever. A failure of a
// whole group (COMMIT, I/O error, disk full, a failed sync) makes health() non-ok for good and
// stops the durable ticket: the broker then shuts down rather than promise durability it lost.
//
// "Durable" here is what the node's durability mode acknowledges on (docs/durability.md):
// this store's ticket becomes durable when its StoreThread acknowledges it: in immediate mode
// once its group committed and the sync thread fsynced it; in periodic and none once its
// group committed, in the WAL (a process crash loses nothing, a power loss may lose what the
// sync thread had not synced yet).
//
// The StoreThread is borrowed: close (or destroy) this store before closing it.
#pragma once

#include <sqlite3.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "broker/persist/state_store.h"
#include "storage/sqlite_helpers.h"
#include "storage/store_thread.h"

namespace topicdb::broker {

class SqliteStateStore final : public StateStore {
 public:
  // Prepares the store's statements on `store`'s connection, whose schemas must include
  // state_schema() (broker/persist/state_schema.h). Call on the loop thread.
  static Result<std::unique_ptr<SqliteStateStore>> open(storage::StoreThread* store);

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
  uint64_t durable_ticket() const override { return durable_ticket_; }
  void set_durable_callback(DurableCallback callback) override { callback_ = std::move(callback); }

  // Waits until every write of this store was processed, reports the final durable ticket
  // and releases the statements; the StoreThread keeps running. Writes after close() get a
  // ticket that never becomes durable. Returns health().
  Status close() override;
  Status health() const override { return store_->health(); }

  // Writes that failed alone and were rolled back (each logged when it happened).
  uint64_t failed_writes() const { return failed_writes_; }

 private:
  struct Op;  // one queued write, defined in the .cc
  enum Statement : size_t {
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

  explicit SqliteStateStore(storage::StoreThread* store);

  Status prepare_statements(sqlite3* db);
  uint64_t submit(Op op);
  Status apply(sqlite3* db, const Op& op);  // the store thread
  void on_done(uint64_t ticket, uint64_t store_ticket, const Status& status);
  Result<LoadedState> read_all(sqlite3* db);
  void report_durable();

  storage::StoreThread* const store_;
  uint64_t durable_callback_id_ = 0;
  // Used on the store thread only (prepared and released through run_sync()).
  std::array<storage::sqlite::StatementPtr, kStatementCount> statements_;

  // Loop-thread only.
  uint64_t last_ticket_ = 0;
  uint64_t durable_ticket_ = 0;
  uint64_t reported_ticket_ = 0;  // highest ticket passed to callback_
  uint64_t failed_writes_ = 0;
  DurableCallback callback_;
  bool closed_ = false;
  bool warned_refused_ = false;
};

}  // namespace topicdb::broker
