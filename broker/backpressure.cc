// Back-pressure: a subscriber that cannot keep up slows the publishers that feed it, instead
// of letting its buffers grow without bound or dropping messages. The publisher's connection
// stops processing PUBLISH packets (Connection::hold_publishes) until the subscriber's write
// buffer and queue fall below their low marks.
#include "base/log.h"
#include "broker/broker.h"

namespace topicdb::broker {

bool is_congested(const Session& session, const BrokerOptions& options) {
  const Connection* c = session.connection();
  if (c == nullptr) return false;  // an absent session is bounded by its queue limit instead
  return c->queued_bytes() >= options.write_buffer_high ||
         session.queued().size() >= options.max_queued_messages / 2;
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
  waiting_publishers_[&congested].push_back(publisher.id());
}

void Broker::release_waiters(Session& session, bool force) {
  auto waiting = waiting_publishers_.find(&session);
  if (waiting == waiting_publishers_.end() || (!force && !is_drained(session, options_))) return;
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

void Broker::process_releases() {
  std::vector<uint64_t> ids;
  ids.swap(to_release_);
  for (uint64_t id : ids) {
    auto it = connections_.find(id);
    if (it != connections_.end()) it->second->release_publishes();
  }
}

}  // namespace topicdb::broker
