#include "broker/ack_queue.h"

#include <algorithm>

#include "broker/codec/codec.h"
#include "broker/connection.h"

namespace topicdb::broker {

std::string encode_ack(mqtt::PacketType type, uint16_t packet_id, uint8_t reason,
                       mqtt::ProtocolVersion version) {
  mqtt::AckPacket ack;
  ack.type = type;
  ack.packet_id = packet_id;
  if (version == mqtt::ProtocolVersion::kV5) ack.reason_code = reason;
  std::string out;
  mqtt::encode(ack, version, &out);
  return out;
}

void AckQueue::send_after_durable(Connection& c, std::string bytes, uint64_t ticket,
                                  bool is_puback) {
  auto pending = waiting_.find(&c);
  if (pending == waiting_.end() && ticket <= store_->durable_ticket()) {
    c.send(bytes);
    return;
  }
  std::deque<Entry>& entries = waiting_[&c];
  if (!entries.empty()) ticket = std::max(ticket, entries.back().ticket);
  entries.push_back({ticket, 0, std::move(bytes), is_puback});
  if (is_puback) ++c.deferred_pubacks;
}

uint64_t AckQueue::reserve(Connection& c, uint64_t ticket, bool is_puback) {
  const uint64_t token = next_token_++;
  std::deque<Entry>& entries = waiting_[&c];
  if (!entries.empty()) ticket = std::max(ticket, entries.back().ticket);
  entries.push_back({ticket, token, std::string(), is_puback});
  if (is_puback) ++c.deferred_pubacks;
  return token;
}

void AckQueue::reserve_again(Connection& c, uint64_t token, uint64_t ticket) {
  std::deque<Entry>& entries = waiting_[&c];
  if (!entries.empty()) ticket = std::max(ticket, entries.back().ticket);
  entries.push_back({ticket, token, std::string(), false});
}

void AckQueue::fill(Connection& c, uint64_t token, const std::string& bytes) {
  auto it = waiting_.find(&c);
  if (it == waiting_.end()) return;
  for (Entry& e : it->second) {
    if (e.token == token) {
      e.token = 0;
      e.bytes = bytes;
    }
  }
  send_ready(c, it->second, store_->durable_ticket());
  if (it->second.empty()) waiting_.erase(it);
}

void AckQueue::on_durable(uint64_t ticket) {
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    send_ready(*it->first, it->second, ticket);
    it = it->second.empty() ? waiting_.erase(it) : std::next(it);
  }
}

void AckQueue::send_ready(Connection& c, std::deque<Entry>& entries, uint64_t durable) {
  while (!entries.empty() && entries.front().token == 0 && entries.front().ticket <= durable) {
    Entry& e = entries.front();
    c.send(e.bytes);
    if (e.is_puback) --c.deferred_pubacks;
    entries.pop_front();
  }
}

}  // namespace topicdb::broker
