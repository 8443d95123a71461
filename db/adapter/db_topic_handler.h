// DbTopicHandler: the broker's handler for "$DB/" and the document store's event sink —
// the only place where MQTT meets the document database. A PUBLISH becomes a Request
// (request_parser.h), runs on the store, and its Answer goes back as a PUBLISH: MQTT 5 to
// the Response Topic with the Correlation Data; 3.1.1 and 3.1 to "$DB/_reply/{path}" for
// the requester only. Then the PUBLISH is acknowledged (0x00 also for an error answer: the
// answer says what went wrong). Committed changes come back as events on
// "$DB/{entity}/events/{id}". Who may do what (the ACL on "$DB/{entity}/{operation}",
// admins, record ownership) is DbAccess's (db_access.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/clock.h"
#include "broker/reserved_topics.h"
#include "broker/server_publish.h"
#include "db/adapter/db_access.h"
#include "db/adapter/db_request_hooks.h"
#include "db/adapter/db_operation_stats.h"
#include "db/adapter/request_dedupe.h"
#include "db/answer.h"
#include "db/change_event.h"
#include "db/request.h"
#include "db/request_parser.h"

namespace topicdb::db::adapter {

struct DbTopicHandlerOptions {
  // A larger request payload gets a 413 (--db-max-payload).
  size_t max_payload = 256 * 1024;
  // Requests of one client running at once, QoS 0 included; beyond: 503 (--db-max-inflight).
  size_t max_inflight = 1024;
  RequestDedupeOptions dedupe;
  // Plugins' $DB hooks (borrowed; must outlive the handler); null: none.
  DbRequestHooks* hooks = nullptr;
};

class DbTopicHandler final : public broker::ReservedTopicHandler, public EventSink {
 public:
  using Options = DbTopicHandlerOptions;
  // Runs a request and calls `done` once with its answer, on the loop thread: the
  // DocumentStore's execute, or a fake in tests.
  using Executor = std::function<void(Request request, std::function<void(Answer)> done)>;

  // Borrows `publisher` and `clock` (the dedupe window's); they must outlive the handler,
  // or stop() is called first.
  DbTopicHandler(broker::ServerPublisher* publisher, Clock* clock, Executor executor,
                 Options options = {});
  ~DbTopicHandler() override;

  // Authorizes every request through `access` and scopes it to its user's records, and
  // filters owned records' events per recipient. Without it (tests) everything is allowed
  // and the broker's Authorizer checks the raw request topic as for any topic.
  void set_access(std::unique_ptr<DbAccess> access) { access_ = std::move(access); }

  // --- broker::ReservedTopicHandler -------------------------------------------------------
  void on_publish(broker::ReservedPublish request, broker::ReservedCompletion done) override;
  Status authorize_subscribe(const broker::ClientIdentity& client,
                             std::string_view filter) override;
  // With a DbAccess the handler checks "$DB/{entity}/{operation}" itself.
  bool authorizes_publish() const override { return access_ != nullptr; }

  // --- EventSink ----------------------------------------------------------------------------
  // QoS 1, not retained: a QoS 1 subscriber with a persistent session misses none.
  void on_change(const ChangeEvent& event) override;

  // The broker is shutting down: answers and events still arriving are dropped and no
  // completion is called any more. Idempotent.
  void stop();

  // Requests of `client_id` running now.
  size_t in_flight(const std::string& client_id) const;
  // Requests answered, by operation and code (a resend answered from the dedupe is not
  // counted again).
  const DbOperationStats& operation_stats() const { return operation_stats_; }

 private:
  // Where and how one arrival of a request is answered.
  struct ReplyTo {
    bool none = false;  // MQTT 5 without a Response Topic: run, answer nobody
    std::string topic;
    std::optional<std::string> correlation_data;
    uint8_t qos = 0;
    std::string only_client_id;             // empty: whoever subscribes to the response topic
    uint32_t max_packet_size = 0;           // the requester's; 0 = none
    std::optional<std::string> request_id;  // "_request_id", for an answer made here
  };
  static ReplyTo reply_to(const broker::ReservedPublish& request, std::string_view path);
  // Publishes `envelope` (or a 413 in its place when it would not fit the requester).
  void send_answer(const ReplyTo& to, const std::string& envelope);
  // Asks options_.hooks about `request`; true when it was vetoed (and answered).
  bool vetoed_by_hooks(const broker::ReservedPublish& p, const Request& request, const ReplyTo& to,
                       broker::ReservedCompletion& done);
  // Answers without running anything.
  void answer_now(const ReplyTo& to, const Answer& answer, broker::ReservedCompletion done,
                  Status status = Status::ok());

  broker::ServerPublisher* publisher_;
  Executor executor_;
  Options options_;
  std::unique_ptr<DbAccess> access_;
  RequestDedupe dedupe_;
  std::unordered_map<std::string, size_t> in_flight_;  // by client id
  DbOperationStats operation_stats_;
  // Completions of running requests hold a weak reference: one arriving after stop() or
  // destruction does nothing.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace topicdb::db::adapter
