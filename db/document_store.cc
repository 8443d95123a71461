#include "db/document_store.h"

#include <fmt/format.h>

#include <algorithm>
#include <exception>
#include <map>
#include <utility>
#include <vector>

#include "base/log.h"
#include "db/change_log.h"
#include "db/constraint_admin.h"
#include "db/constraint_verify.h"
#include "db/metadata.h"
#include "db/names.h"
#include "db/reader_pool.h"
#include "db/reads.h"
#include "db/record_id.h"
#include "db/record_writes.h"

namespace topicdb::db {

namespace {

// Records deleted per TTL sweep submission; a fuller batch sweeps again at once.
constexpr int kExpireBatch = 1000;

}  // namespace

// Loop-thread object except `writer_`, which only store-thread work touches. Event order:
// each committed change's event waits in `pending_` (keyed by seq) until the store says its
// submission is durable, then leaves strictly in seq order; 'routed_seq' follows in a later
// submission once per sweep interval, and start() re-routes what is after it (the outbox
// after a crash).
class DocumentStore::Impl {
 public:
  Impl(uv_loop_t* loop, Clock* clock, storage::StoreThread* store, Options options)
      : loop_(loop), clock_(clock), store_(store), options_(options), ids_(clock) {}

  Status open() {
    TDB_RETURN_IF_ERROR(store_->run_sync(
        [](sqlite3* db) { return storage::sqlite::exec(db, "SELECT 1 FROM db_records LIMIT 0"); }));
    // The unique table and the reverse index are rebuilt from the data when missing (a
    // database from before constraints, or tables emptied behind the store's back).
    Status rebuild = store_->run_sync([writer = writer_.get()](sqlite3* db) -> Status {
      Status begin = storage::sqlite::exec(db, "SAVEPOINT constraint_rebuild");
      if (!begin) return begin;
      bool rebuilt = false;
      Status status = rebuild_constraint_rows_if_missing(db, &writer->catalog, &rebuilt);
      if (!status) {
        storage::sqlite::exec(db, "ROLLBACK TO constraint_rebuild");
        storage::sqlite::exec(db, "RELEASE constraint_rebuild");
        return status;
      }
      if (rebuilt && !writer->catalog.constraints().empty()) {
        log::info("db: rebuilt the unique and foreign-key structures from the data");
      }
      return storage::sqlite::exec(db, "RELEASE constraint_rebuild");
    });
    if (!rebuild) return rebuild;
    durable_callback_id_ = store_->add_durable_callback([this](uint64_t) { route_events(); });
    return Status::ok();
  }

  Status start(EventSink* sink) {
    if (closed_) return Status::unavailable("document store closed");
    if (started_) return Status::ok();
    started_ = true;
    sink_ = sink;
    load_outbox_batch();
    sweep_timer_ = clock_->make_timer();
    int64_t interval = std::max<int64_t>(1, options_.ttl_sweep_interval_ms);
    sweep_timer_->start(interval, interval, [this] { sweep(); });
    return Status::ok();
  }

  void execute(Request request, Done done) {
    if (closed_ || store_->closed()) {
      done(Answer::unavailable("the document store is closed"));
      return;
    }
    Answer invalid;
    if (!check_names(request, &invalid)) {
      done(std::move(invalid));
      return;
    }
    switch (request.op) {
      case Operation::kCreate:
        return create(std::move(request), std::move(done));
      case Operation::kUpdate:
        return update(std::move(request), std::move(done));
      case Operation::kDelete:
        return remove(std::move(request), std::move(done));
      case Operation::kSchemaSet:
        return schema_set(std::move(request), std::move(done));
      case Operation::kIndexAdd:
        return index_add(std::move(request), std::move(done));
      case Operation::kConstraintAdd:
      case Operation::kConstraintRemove:
        return constraint_change(std::move(request), std::move(done));
      case Operation::kRead:
      case Operation::kList:
      case Operation::kSchemaGet:
      case Operation::kIndexList:
      case Operation::kReplay:
      case Operation::kConstraintList:
      case Operation::kVerify:
        return read(std::move(request), std::move(done));
    }
    done(Answer::bad_request("unknown operation"));
  }

  Status close() {
    if (closed_) return Status::ok();
    closed_ = true;
    sweep_timer_.reset();
    if (readers_) readers_->close();  // answers what is queued
    if (!store_->closed()) {
      store_->flush();  // every write submitted so far is answered, its events queued
      for (int i = 0; i < 3 && (persisting_ || emitted_seq_ > persisted_routed_); ++i) {
        persist_routed(/*closing=*/true);
        store_->flush();
      }
    }
    store_->remove_durable_callback(durable_callback_id_);
    sink_ = nullptr;  // it may go away once we are closed
    return Status::ok();
  }

  size_t in_flight() const { return in_flight_; }

 private:
  // Store-thread state: prepared statements and the schema catalog.
  struct Writer {
    Catalog catalog;
    RecordWriter records{&catalog};
  };
  struct Pending {
    uint64_t ticket;
    ChangeEvent event;
  };
  using WriteFn = std::function<Status(sqlite3* db, WriteResult* result)>;

  static bool check_names(const Request& request, Answer* error) {
    if (request.op != Operation::kReplay && request.op != Operation::kVerify) {
      Status valid = check_entity_name(request.entity);
      if (!valid) {
        *error = Answer::bad_request(valid.message());
        return false;
      }
    }
    if (request.op == Operation::kRead || request.op == Operation::kUpdate ||
        request.op == Operation::kDelete) {
      Status valid = check_record_id(request.id);
      if (!valid) {
        *error = Answer::bad_request(valid.message());
        return false;
      }
    }
    if (!request.body.is_object()) {
      *error = Answer::bad_request("the payload must be a JSON object");
      return false;
    }
    return true;
  }

  // Store thread, in the write's own submission: an update or delete of another user's
  // record answers 404, as a read of it does (a 403 would tell that the id exists).
  static Status owner_allows(sqlite3* db, const Request& request, WriteResult* result,
                             bool* allowed) {
    *allowed = true;
    if (!request.owner) return Status::ok();
    TDB_RETURN_IF_ERROR(
        check_stored_owner(db, *request.owner, request.entity, request.id, allowed));
    if (!*allowed) {
      result->answer = Answer::not_found(
          fmt::format("record '{}' not found in '{}'", request.id, request.entity));
    }
    return Status::ok();
  }

  void create(Request request, Done done) {
    int64_t now = clock_->wall_ms();
    std::string assigned =
        request.body.is_object() && request.body.contains("id") ? std::string() : ids_.next();
    auto input = std::make_shared<CreateInput>();
    Answer error;
    if (request.owner &&
        !apply_owner_to_create(*request.owner, request.entity, &request.body, &error)) {
      done(std::move(error));
      return;
    }
    if (!check_create(std::move(request.body), assigned, now, input.get(), &error)) {
      done(std::move(error));
      return;
    }
    submit_write(
        [writer = writer_.get(), input, entity = std::move(request.entity),
         client = std::move(request.client_id), now](sqlite3* db, WriteResult* result) {
          return writer->records.create(db, entity, std::move(*input), client, now, result);
        },
        std::move(done), /*answer_with_event_text=*/true);
  }

  void update(Request request, Done done) {
    Answer error;
    if (!check_update(request.body, &error) ||
        (request.owner &&
         !check_owner_in_patch(*request.owner, request.entity, request.body, &error))) {
      done(std::move(error));
      return;
    }
    int64_t now = clock_->wall_ms();
    submit_write(
        [writer = writer_.get(), request = std::move(request), now](sqlite3* db,
                                                                    WriteResult* result) {
          bool allowed = true;
          TDB_RETURN_IF_ERROR(owner_allows(db, request, result, &allowed));
          if (!allowed) return Status::ok();
          return writer->records.update(db, request.entity, request.id, request.body,
                                        request.client_id, now, result);
        },
        std::move(done));
  }

  void remove(Request request, Done done) {
    int64_t now = clock_->wall_ms();
    submit_write(
        [writer = writer_.get(), request = std::move(request), now](sqlite3* db,
                                                                    WriteResult* result) {
          bool allowed = true;
          TDB_RETURN_IF_ERROR(owner_allows(db, request, result, &allowed));
          if (!allowed) return Status::ok();
          return writer->records.remove(db, request.entity, request.id, request.client_id, now,
                                        result);
        },
        std::move(done));
  }

  void schema_set(Request request, Done done) {
    int64_t now = clock_->wall_ms();
    submit_write(
        [writer = writer_.get(), request = std::move(request), now](sqlite3* db,
                                                                    WriteResult* result) {
          return set_schema(db, &writer->catalog, request.entity, request.body, now,
                            &result->answer);
        },
        std::move(done));
  }

  void index_add(Request request, Done done) {
    int64_t now = clock_->wall_ms();
    submit_write(
        [request = std::move(request), now](sqlite3* db, WriteResult* result) {
          return add_index(db, request.entity, request.body, now, &result->answer);
        },
        std::move(done));
  }

  void constraint_change(Request request, Done done) {
    int64_t now = clock_->wall_ms();
    submit_write(
        [writer = writer_.get(), request = std::move(request), now](sqlite3* db,
                                                                    WriteResult* result) {
          if (request.op == Operation::kConstraintAdd) {
            return add_constraint(db, &writer->catalog, request.entity, request.body, now,
                                  &result->answer);
          }
          return remove_constraint(db, &writer->catalog, request.entity, request.body, now,
                                   &result->answer);
        },
        std::move(done));
  }

  // Runs `fn` in a store submission; answers once committed, then queues its events.
  // `answer_with_event_text` (creates): the created record's event carries the text the
  // store wrote; the answer takes that text instead of dumping the record again, and the
  // record's tree is freed on the store thread, where it is still in the cache (freeing it
  // on the loop thread, which bounds the create rate, cost ~10% of that thread's time).
  void submit_write(WriteFn fn, Done done, bool answer_with_event_text = false) {
    auto result = std::make_shared<WriteResult>();
    ++in_flight_;
    store_->submit(
        [fn = std::move(fn), result, answer_with_event_text](sqlite3* db) -> Status {
          // Nothing may throw across the store thread: a JSON library error rolls the
          // submission back and is answered 503.
          try {
            Status status = fn(db, result.get());
            if (status.is_ok() && answer_with_event_text && result->answer.is_ok() &&
                !result->events.empty() && result->events.back().operation == "Create") {
              // A create's own event comes last (an expired record it replaced went before).
              result->answer.data_text = result->events.back().data_json;
              result->answer.data = nullptr;
            }
            return status;
          } catch (const std::exception& e) {
            return Status::internal(fmt::format("db: write failed: {}", e.what()));
          }
        },
        [this, result, done = std::move(done)](uint64_t ticket, const Status& status) {
          --in_flight_;
          if (!status) {
            done(Answer::unavailable("the store is failing: " + status.message()));
            return;
          }
          done(std::move(result->answer));
          for (ChangeEvent& event : result->events) queue_event(ticket, std::move(event));
          route_events();
        });
  }

  void read(Request request, Done done) {
    if (!readers_) {
      Result<std::unique_ptr<ReaderPool>> pool =
          ReaderPool::open(loop_, store_->path(), options_.reader_threads);
      if (!pool.is_ok()) {
        done(Answer::unavailable("cannot open readers: " + pool.status().message()));
        return;
      }
      readers_ = std::move(pool).value();
    }
    int64_t now = clock_->wall_ms();
    // Replay never shows an event that has not left yet (its number could still vanish in a
    // crash in the periodic and none durability modes).
    int64_t max_seq = static_cast<int64_t>(emitted_seq_);
    QueryLimits limits{options_.max_list_limit, options_.max_filters, options_.max_sort_keys};
    ++in_flight_;
    readers_->submit(
        [request = std::move(request), now, max_seq, limits](sqlite3* db) -> Answer {
          try {
            switch (request.op) {
              case Operation::kRead:
                return run_read(db, request, now);
              case Operation::kList:
                return run_list(db, request, limits, now);
              case Operation::kSchemaGet:
                return get_schema(db, request.entity);
              case Operation::kIndexList:
                return list_indexes(db, request.entity);
              case Operation::kReplay:
                return replay(db, request.body, max_seq, request.owner.get());
              case Operation::kConstraintList:
                return list_constraints(db, request.entity);
              case Operation::kVerify:
                return verify_constraints(db);
              default:
                return Answer::bad_request("not a read");
            }
          } catch (const std::exception& e) {
            return Answer::unavailable(fmt::format("read failed: {}", e.what()));
          }
        },
        [this, done = std::move(done)](Answer answer) {
          --in_flight_;
          done(std::move(answer));
        });
  }

  void queue_event(uint64_t ticket, ChangeEvent event) {
    uint64_t seq = event.sequence;
    if (seq <= emitted_seq_) return;
    auto [it, inserted] = pending_.try_emplace(seq, Pending{ticket, std::move(event)});
    // The outbox load may see a change whose own submission queued it too: the earlier
    // ticket decides when it may leave.
    if (!inserted) it->second.ticket = std::min(it->second.ticket, ticket);
  }

  // The outbox drains in batches: each batch's events leave (in order, with the new ones
  // interleaved by seq) before the next batch is read.
  void load_outbox_batch() {
    if (outbox_loading_ || outbox_loaded_ || closed_ || store_->closed()) return;
    outbox_loading_ = true;
    struct Batch {
      std::vector<ChangeEvent> events;
      int64_t routed = 0;
    };
    auto batch = std::make_shared<Batch>();
    bool first = !outbox_started_;
    int64_t after = static_cast<int64_t>(outbox_frontier_);
    int64_t limit = std::max<int64_t>(1, options_.outbox_batch);
    store_->submit(
        [batch, first, after, limit](sqlite3* db) -> Status {
          int64_t from = after;
          if (first) {
            Result<int64_t> routed = read_state(db, "routed_seq");
            if (!routed.is_ok()) return routed.status();
            batch->routed = from = *routed;
          }
          return load_changes(db, from, limit, &batch->events);
        },
        [this, batch, first, limit](uint64_t ticket, const Status& status) {
          outbox_loading_ = false;
          if (!status) {
            // Retried by the next sweep; meanwhile no event leaves (order first).
            log::error("db: cannot load the event outbox: {}", status.to_string());
            return;
          }
          if (first) {
            uint64_t routed = static_cast<uint64_t>(batch->routed);
            emitted_seq_ = std::max(emitted_seq_, routed);
            persisted_routed_ = std::max(persisted_routed_, routed);
            outbox_frontier_ = routed;
            outbox_started_ = true;
            if (!batch->events.empty()) {
              log::info("db: routing the events left in the outbox (after sequence {})", routed);
            }
          }
          if (!batch->events.empty()) outbox_frontier_ = batch->events.back().sequence;
          if (static_cast<int64_t>(batch->events.size()) < limit) outbox_loaded_ = true;
          for (ChangeEvent& event : batch->events) queue_event(ticket, std::move(event));
          route_events();
        });
  }

  void route_events() {
    // Before start() events wait; started without a sink (tools) they are routed to no one.
    if (!outbox_started_ || routing_) return;
    routing_ = true;  // a sink that runs a request re-enters here
    uint64_t durable = store_->durable_ticket();
    while (!pending_.empty()) {
      auto it = pending_.begin();
      // Past the outbox batch read so far: older unrouted events may still be unread.
      if (!outbox_loaded_ && it->first > outbox_frontier_) break;
      if (it->second.ticket > durable) break;
      Pending pending = std::move(it->second);
      pending_.erase(it);
      if (pending.event.sequence <= emitted_seq_) continue;
      emitted_seq_ = pending.event.sequence;
      if (sink_ != nullptr) sink_->on_change(pending.event);
    }
    routing_ = false;
    if (!outbox_loaded_ && (pending_.empty() || pending_.begin()->first > outbox_frontier_)) {
      load_outbox_batch();
    }
  }

  // 'routed_seq' is written once per sweep interval (and at close), not after each group:
  // a write of its own after every group would cost a second commit (an fsync in immediate
  // mode) per group and make a client that waits for each answer twice as slow. After a
  // crash the events of up to one interval leave again (events are at least once).
  void persist_routed(bool closing) {
    if (persisting_ || emitted_seq_ <= persisted_routed_ || (closed_ && !closing)) return;
    if (store_->closed()) return;
    persisting_ = true;
    int64_t value = static_cast<int64_t>(emitted_seq_);
    store_->submit([value](sqlite3* db) { return write_state(db, "routed_seq", value); },
                   [this, value](uint64_t, const Status& status) {
                     persisting_ = false;
                     if (!status) return;
                     persisted_routed_ = std::max<uint64_t>(persisted_routed_, value);
                   });
  }

  // TTL expiry and change-log retention, one store submission per sweep.
  void sweep() {
    if (closed_ || store_->closed()) return;
    if (sweeping_) {
      sweep_again_ = true;  // a tick during a sweep is not lost: its deadline may be newer
      return;
    }
    persist_routed(/*closing=*/false);
    if (!outbox_started_) load_outbox_batch();  // a failed first load is retried
    sweeping_ = true;
    sweep_again_ = false;
    int64_t now = clock_->wall_ms();
    RetentionPolicy policy;
    policy.retention_ms = options_.event_retention_ms;
    policy.retention_count = options_.event_retention_count;
    policy.max_prunable_seq = static_cast<int64_t>(emitted_seq_);
    auto result = std::make_shared<WriteResult>();
    auto more = std::make_shared<bool>(false);
    store_->submit(
        [writer = writer_.get(), now, policy, result, more](sqlite3* db) -> Status {
          try {
            TDB_RETURN_IF_ERROR(
                writer->records.expire(db, now, kExpireBatch, &result->events, more.get()));
            int64_t pruned = 0;
            return prune_changes(db, now, policy, &pruned);
          } catch (const std::exception& e) {
            return Status::internal(fmt::format("db: sweep failed: {}", e.what()));
          }
        },
        [this, result, more](uint64_t ticket, const Status& status) {
          sweeping_ = false;
          if (!status) {
            log::warn("db: TTL sweep failed: {}", status.to_string());
            return;
          }
          for (ChangeEvent& event : result->events) queue_event(ticket, std::move(event));
          route_events();
          if (*more || sweep_again_) sweep();
        });
  }

  uv_loop_t* loop_;
  Clock* clock_;
  storage::StoreThread* store_;
  Options options_;
  RecordIdGenerator ids_;
  std::unique_ptr<Writer> writer_ = std::make_unique<Writer>();
  std::unique_ptr<ReaderPool> readers_;
  std::unique_ptr<Timer> sweep_timer_;
  EventSink* sink_ = nullptr;
  uint64_t durable_callback_id_ = 0;

  std::map<uint64_t, Pending> pending_;  // by seq
  uint64_t emitted_seq_ = 0;             // the last event handed to the sink
  uint64_t persisted_routed_ = 0;        // 'routed_seq' as last committed
  bool outbox_started_ = false;          // the first batch was read: routed_seq is known
  bool outbox_loaded_ = false;           // the whole outbox was read
  bool outbox_loading_ = false;
  uint64_t outbox_frontier_ = 0;  // the last seq the outbox drain has read
  bool routing_ = false;
  bool persisting_ = false;
  bool sweeping_ = false;
  bool sweep_again_ = false;
  bool started_ = false;
  bool closed_ = false;
  size_t in_flight_ = 0;
};

Result<std::unique_ptr<DocumentStore>> DocumentStore::open(uv_loop_t* loop, Clock* clock,
                                                           storage::StoreThread* store,
                                                           Options options) {
  auto impl = std::make_unique<Impl>(loop, clock, store, options);
  TDB_RETURN_IF_ERROR(impl->open());
  return std::unique_ptr<DocumentStore>(new DocumentStore(std::move(impl)));
}

DocumentStore::DocumentStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DocumentStore::~DocumentStore() { close(); }
Status DocumentStore::start(EventSink* sink) { return impl_->start(sink); }
void DocumentStore::execute(Request request, Done done) {
  impl_->execute(std::move(request), std::move(done));
}
Status DocumentStore::close() { return impl_->close(); }
size_t DocumentStore::in_flight() const { return impl_->in_flight(); }

}  // namespace topicdb::db
