// MemoryStateStore: a StateStore in std::map structures, for unit tests. It outlives the
// broker that uses it, so a test simulates a restart by building a new broker on the same
// store (after reopen()) and having it load() what the old one wrote.
//
// Durability is under the test's control:
//  - auto durable (the default): every write is applied and durable at once, and the
//    DurableCallback runs synchronously inside the write call. Callers must therefore
//    check durable_ticket() against the returned ticket rather than rely only on a later
//    callback.
//  - set_auto_durable(false): writes stay pending (invisible to load()) until the test calls
//    make_durable(), which applies them, advances durable_ticket() and runs the callback —
//    the ordering the SQLite store produces, where the callback comes later on the loop.
// crash() drops pending writes as a power cut would; fail() simulates a disk error.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "broker/persist/state_store.h"

namespace topicdb::broker {

class MemoryStateStore final : public StateStore {
 public:
  MemoryStateStore() = default;
  ~MemoryStateStore() override = default;
  MemoryStateStore(const MemoryStateStore&) = delete;
  MemoryStateStore& operator=(const MemoryStateStore&) = delete;

  // Returns the durable state only: pending writes are not visible.
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

  // Makes pending writes durable (unless failed), then refuses further writes: they get
  // tickets that never become durable. Idempotent; reopen() accepts writes again.
  Status close() override;
  Status health() const override { return health_; }

  // Turning auto durability back on makes pending writes durable first.
  void set_auto_durable(bool auto_durable);
  // Applies every pending write, advances durable_ticket() and runs the callback once with
  // the new durable ticket. Does nothing once fail() was called.
  void make_durable();
  size_t pending_writes() const { return pending_.size(); }
  // A power cut: pending writes are lost, the store counts as closed, no callback runs.
  void crash();
  // A disk error: health() returns `status` from now on and nothing becomes durable again.
  void fail(Status status);
  // A new process opening the same data: accepts writes again, tickets restart at 1, the
  // durable callback and the failure (if any) are cleared; the durable data is kept.
  void reopen();
  bool closed() const { return closed_; }

 private:
  struct Client {
    std::optional<StoredSession> session;                     // metadata only; vectors stay empty
    std::map<std::string, StoredSubscription> subscriptions;  // by filter
    std::map<uint64_t, StoredMessage> messages;               // by seq
    std::set<uint16_t> inbound_qos2;
  };
  using Write = std::function<void(MemoryStateStore&)>;

  uint64_t submit(Write write);

  std::map<std::string, Client> clients_;
  std::map<std::string, StoredRetained> retained_;
  std::vector<Write> pending_;  // in submission order; the last one has last_ticket_
  uint64_t last_ticket_ = 0;
  uint64_t durable_ticket_ = 0;
  DurableCallback callback_;
  Status health_;
  bool auto_durable_ = true;
  bool closed_ = false;
};

}  // namespace topicdb::broker
