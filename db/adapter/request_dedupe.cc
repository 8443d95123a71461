#include "db/adapter/request_dedupe.h"

#include "db/partition.h"

namespace topicdb::db::adapter {

// FNV-1a 64: stable and cheap; a collision would need the same client, key and a crafted
// payload, and would only hand that client its own earlier answer.
uint64_t RequestDedupe::fingerprint(std::string_view topic, std::string_view payload) {
  uint64_t hash = fnv1a_64(kFnvOffsetBasis, topic);
  hash = fnv1a_64(hash, std::string_view("\0", 1));
  return fnv1a_64(hash, payload);
}

std::shared_ptr<RequestDedupe::Entry> RequestDedupe::find(const RequestKey& key, bool is_resend) {
  expire();
  if (is_resend && key.packet_id) {
    auto it = by_packet_id_.find({key.client_id, *key.packet_id});
    if (it != by_packet_id_.end() && it->second->fingerprint == key.fingerprint) return it->second;
  }
  if (key.correlation_data) {
    auto it = by_correlation_.find({key.client_id, *key.correlation_data});
    if (it != by_correlation_.end() && it->second->fingerprint == key.fingerprint) {
      return it->second;
    }
  }
  return nullptr;
}

std::shared_ptr<RequestDedupe::Entry> RequestDedupe::start(const RequestKey& key) {
  auto entry = std::make_shared<Entry>();
  entry->fingerprint = key.fingerprint;
  Keys keys;
  if (key.packet_id) {
    keys.packet_key = PacketKey{key.client_id, *key.packet_id};
    by_packet_id_[*keys.packet_key] = entry;
  }
  if (key.correlation_data) {
    keys.correlation_key = CorrelationKey{key.client_id, *key.correlation_data};
    by_correlation_[*keys.correlation_key] = entry;
  }
  running_[entry.get()] = std::move(keys);
  return entry;
}

std::vector<RequestDedupe::Waiter> RequestDedupe::finish(const std::shared_ptr<Entry>& entry,
                                                         std::string envelope) {
  entry->answered = true;
  entry->envelope = std::move(envelope);
  std::vector<Waiter> waiters = std::move(entry->waiters);
  entry->waiters.clear();
  auto running = running_.find(entry.get());
  if (running != running_.end()) {
    const size_t bytes = entry->envelope.size() + 64;
    bytes_ += bytes;
    expiry_.push_back({clock_->now_ms() + options_.window_ms, entry,
                       std::move(running->second.packet_key),
                       std::move(running->second.correlation_key), bytes});
    running_.erase(running);
  }
  expire();
  return waiters;
}

void RequestDedupe::drop_front() {
  Expiry& e = expiry_.front();
  std::shared_ptr<Entry> entry = e.entry.lock();
  // A key may name a newer request by now (the id was reused): leave that one alone.
  if (e.packet_key) {
    auto it = by_packet_id_.find(*e.packet_key);
    if (it != by_packet_id_.end() && it->second == entry) by_packet_id_.erase(it);
  }
  if (e.correlation_key) {
    auto it = by_correlation_.find(*e.correlation_key);
    if (it != by_correlation_.end() && it->second == entry) by_correlation_.erase(it);
  }
  bytes_ -= e.bytes;
  expiry_.pop_front();
}

void RequestDedupe::expire() {
  const int64_t now = clock_->now_ms();
  while (!expiry_.empty() &&
         (expiry_.front().at_ms <= now || expiry_.size() > options_.max_entries ||
          bytes_ > options_.max_bytes)) {
    drop_front();
  }
}

}  // namespace topicdb::db::adapter
