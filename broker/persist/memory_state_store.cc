#include "broker/persist/memory_state_store.h"

namespace topicdb::broker {

Result<LoadedState> MemoryStateStore::load() {
  LoadedState state;
  for (const auto& [client_id, client] : clients_) {
    // Rows without a session are skipped, as the SQLite store does.
    if (!client.session) continue;
    StoredSession& session = state.sessions.emplace_back(*client.session);
    for (const auto& [filter, subscription] : client.subscriptions) {
      session.subscriptions.push_back(subscription);
    }
    for (const auto& [seq, message] : client.messages) session.messages.push_back(message);
    session.inbound_qos2.assign(client.inbound_qos2.begin(), client.inbound_qos2.end());
  }
  for (const auto& [topic, retained] : retained_) state.retained.push_back(retained);
  return state;
}

uint64_t MemoryStateStore::put_session(const StoredSession& session) {
  StoredSession meta;
  meta.client_id = session.client_id;
  meta.protocol_version = session.protocol_version;
  meta.expiry_interval_s = session.expiry_interval_s;
  meta.disconnected_at_ms = session.disconnected_at_ms;
  return submit(
      [meta = std::move(meta)](MemoryStateStore& s) { s.clients_[meta.client_id].session = meta; });
}

uint64_t MemoryStateStore::delete_session(const std::string& client_id) {
  return submit([client_id](MemoryStateStore& s) { s.clients_.erase(client_id); });
}

uint64_t MemoryStateStore::put_subscription(const std::string& client_id,
                                            const StoredSubscription& subscription) {
  return submit([client_id, subscription](MemoryStateStore& s) {
    s.clients_[client_id].subscriptions[subscription.filter] = subscription;
  });
}

uint64_t MemoryStateStore::delete_subscription(const std::string& client_id,
                                               const std::string& filter) {
  return submit([client_id, filter](MemoryStateStore& s) {
    auto it = s.clients_.find(client_id);
    if (it != s.clients_.end()) it->second.subscriptions.erase(filter);
  });
}

uint64_t MemoryStateStore::put_message(const std::string& client_id, const StoredMessage& message) {
  return submit([client_id, message](MemoryStateStore& s) {
    s.clients_[client_id].messages[message.seq] = message;
  });
}

uint64_t MemoryStateStore::update_message_state(const std::string& client_id, uint64_t seq,
                                                uint16_t packet_id, StoredMessage::State state) {
  return submit([client_id, seq, packet_id, state](MemoryStateStore& s) {
    auto client = s.clients_.find(client_id);
    if (client == s.clients_.end()) return;
    auto message = client->second.messages.find(seq);
    if (message == client->second.messages.end()) return;
    message->second.packet_id = packet_id;
    message->second.state = state;
  });
}

uint64_t MemoryStateStore::delete_message(const std::string& client_id, uint64_t seq) {
  return submit([client_id, seq](MemoryStateStore& s) {
    auto it = s.clients_.find(client_id);
    if (it != s.clients_.end()) it->second.messages.erase(seq);
  });
}

uint64_t MemoryStateStore::put_inbound_qos2(const std::string& client_id, uint16_t packet_id) {
  return submit([client_id, packet_id](MemoryStateStore& s) {
    s.clients_[client_id].inbound_qos2.insert(packet_id);
  });
}

uint64_t MemoryStateStore::delete_inbound_qos2(const std::string& client_id, uint16_t packet_id) {
  return submit([client_id, packet_id](MemoryStateStore& s) {
    auto it = s.clients_.find(client_id);
    if (it != s.clients_.end()) it->second.inbound_qos2.erase(packet_id);
  });
}

uint64_t MemoryStateStore::put_retained(const StoredRetained& retained) {
  return submit([retained](MemoryStateStore& s) { s.retained_[retained.topic] = retained; });
}

uint64_t MemoryStateStore::delete_retained(const std::string& topic) {
  return submit([topic](MemoryStateStore& s) { s.retained_.erase(topic); });
}

uint64_t MemoryStateStore::submit(Write write) {
  uint64_t ticket = ++last_ticket_;
  // Refused writes keep their ticket but it never becomes durable, as with SQLite.
  if (closed_ || !health_.is_ok()) return ticket;
  pending_.push_back(std::move(write));
  if (auto_durable_) make_durable();
  return ticket;
}

void MemoryStateStore::make_durable() {
  if (!health_.is_ok() || pending_.empty()) return;
  // Moved out first: the callback below may submit more writes.
  std::vector<Write> writes = std::move(pending_);
  pending_.clear();
  for (Write& write : writes) write(*this);
  // Every queued write up to the newest accepted one is now applied.
  durable_ticket_ = last_ticket_;
  if (callback_) callback_(durable_ticket_);
}

void MemoryStateStore::set_auto_durable(bool auto_durable) {
  auto_durable_ = auto_durable;
  if (auto_durable_) make_durable();
}

Status MemoryStateStore::close() {
  if (closed_) return health_;
  make_durable();
  closed_ = true;
  return health_;
}

void MemoryStateStore::crash() {
  pending_.clear();
  closed_ = true;
}

void MemoryStateStore::fail(Status status) {
  health_ = status.is_ok() ? Status::io_error("simulated failure") : std::move(status);
  pending_.clear();
}

void MemoryStateStore::reopen() {
  pending_.clear();
  last_ticket_ = 0;
  durable_ticket_ = 0;
  callback_ = nullptr;
  health_ = Status::ok();
  closed_ = false;
}

}  // namespace topicdb::broker
