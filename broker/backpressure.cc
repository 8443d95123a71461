// Back-pressure: a subscriber that cannot keep up slows the publishers that feed it, instead
// of letting its buffers grow without bound or dropping messages. The publisher's connection
// stops processing PUBLISH packets (Connection::hold_publishes) until the subscriber's write
// buffer and queue fall below their low marks. Only while it makes progress, though: a
// subscriber that holds publishers and neither acknowledges nor drains for
// slow_consumer_timeout_ms is stuck, and holds no one until it is below the marks again.
#include "base/log.h"
#include "broker/broker.h"

namespace topicdb::broker {

namespace {
bool over_marks(const Session& session, const Connection& c, const BrokerOptions& options) {
  return c.queued_bytes() >= options.write_buffer_high ||
         session.queued().size() >= options.max_queued_messages / 2;
}
}  // namespace

bool is_congested(const Session& session, const BrokerOptions& options) {
  const Connection* c = session.connection();
  if (c == nullptr) return false;  // an absent session is bounded by its queue limit instead
  return !session.stuck() && over_marks(session, *c, options);
}

bool still_stuck(Session& session, const BrokerOptions& options) {
  if (!session.stuck()) return false;
  const Connection* c = session.connection();
  // An ack now and then does not end it: only a queue back under half its bound does, so a
  // client cannot keep everyone at its pace by acknowledging one message every few seconds.
  if (c != nullptr && over_marks(session, *c, options)) return true;
  session.progress().stuck = false;
  log::info("client '{}' caught up: it slows its publishers again when congested",
            session.client_id());
  return false;
}

bool is_drained(const Session& session, const BrokerOptions& options) {
  const Connection* c = session.connection();
  if (c == nullptr) return true;
  return c->queued_bytes() <= options.write_buffer_low &&
         session.queued().size() <= options.max_queued_messages / 4;
}

void Broker::hold_publisher(Connection& publisher, Session& congested) {
  if (publisher.publishes_held() || !publisher.is_open()) return;
  publisher.hold_publishes();
  publisher.blocked_by = &congested;
  std::vector<uint64_t>& waiting = waiting_publishers_[&congested];
  // The stuck clock starts when the subscriber starts holding someone.
  if (waiting.empty()) congested.progress().since_ms = clock_->now_ms();
  waiting.push_back(publisher.id());
}

void Broker::release_waiters(Session& session, bool force) {
  auto waiting = waiting_publishers_.find(&session);
  if (waiting == waiting_publishers_.end()) return;
  if (!force && !is_drained(session, options_)) {
    // Called on every ack that frees a window slot and every completed write: progress.
    session.progress().since_ms = clock_->now_ms();
    return;
  }
  for (uint64_t id : waiting->second) {
    auto it = connections_.find(id);
    if (it != connections_.end()) it->second->blocked_by = nullptr;
    to_release_.push_back(id);
  }
  waiting_publishers_.erase(waiting);
}

void Broker::on_connection_drained(Connection& c) {
  if (c.session != nullptr) release_waiters(*c.session, false);
}

void Broker::check_stuck_subscribers(int64_t now) {
  std::vector<Session*> stuck;
  for (auto& [session, ids] : waiting_publishers_) {
    if (now - session->progress().since_ms >= options_.slow_consumer_timeout_ms) {
      stuck.push_back(session);
    }
  }
  const bool disconnect_it =
      options_.slow_consumer_action == BrokerOptions::SlowConsumerAction::kDisconnect;
  for (Session* session : stuck) {
    session->progress().stuck = true;
    Connection* c = session->connection();
    log::warn(
        "client '{}' is stuck (no ack, no bytes drained for {} ms, {} queued, {} bytes "
        "unwritten): {}",
        session->client_id(), options_.slow_consumer_timeout_ms, session->queued().size(),
        c != nullptr ? c->queued_bytes() : 0,
        disconnect_it ? "disconnecting it" : "dropping what exceeds its bounds");
    release_waiters(*session, /*force=*/true);
    if (disconnect_it && c != nullptr) {
      disconnect(*c, mqtt::reason::kQuotaExceeded, "slow consumer: no progress");
    }
  }
}

void Broker::process_releases() {
  std::vector<uint64_t> ids;
  ids.swap(to_release_);
  for (uint64_t id : ids) {
    auto it = connections_.find(id);
    if (it != connections_.end()) it->second->release_publishes();
  }
}

}  // namespace topicdb::broker
