// RequestDedupe: remembers $DB requests that are running or were just answered, so a
// resend runs once and gets the same answer: a QoS 1/2 PUBLISH sent again with DUP (same
// client id and packet id: its PUBACK was lost), or an MQTT 5 request with the same client
// id and correlation data within the window. Memory is bounded: answered entries expire
// after the window, and the oldest go first past a count or byte cap.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "base/clock.h"

namespace topicdb::db::adapter {

struct RequestDedupeOptions {
  int64_t window_ms = 60'000;
  size_t max_entries = 65'536;          // answered entries kept
  size_t max_bytes = 64 * 1024 * 1024;  // answer bytes kept
};

// What identifies one request of one client. A resend must also carry the same topic and
// payload (`fingerprint`): a client that reuses a packet id or correlation data for another
// request gets that request run, not a stale answer.
struct RequestKey {
  std::string client_id;
  std::optional<uint16_t> packet_id;            // QoS 1/2
  std::optional<std::string> correlation_data;  // MQTT 5
  uint64_t fingerprint = 0;                     // hash of topic and payload
};

class RequestDedupe {
 public:
  using Options = RequestDedupeOptions;
  // Gets the answer's envelope once the first run has it.
  using Waiter = std::function<void(const std::string& envelope)>;

  struct Entry {
    uint64_t fingerprint = 0;
    bool answered = false;
    std::string envelope;
    std::vector<Waiter> waiters;  // resends that arrived while it ran
  };

  RequestDedupe(Clock* clock, Options options = {}) : clock_(clock), options_(options) {}

  static uint64_t fingerprint(std::string_view topic, std::string_view payload);

  // The earlier run of this request, if it is one: a running entry or an answered one
  // inside the window. `is_resend` says whether the packet id may be matched (the PUBLISH
  // had DUP set); correlation data always may.
  std::shared_ptr<Entry> find(const RequestKey& key, bool is_resend);
  // Records a new running request under its packet id and correlation data (replacing
  // whatever those keys named before).
  std::shared_ptr<Entry> start(const RequestKey& key);
  // The request is answered: its entry keeps `envelope` for the window. Returns the
  // waiters to answer.
  std::vector<Waiter> finish(const std::shared_ptr<Entry>& entry, std::string envelope);

  size_t size() const { return by_packet_id_.size() + by_correlation_.size(); }
  size_t answered_bytes() const { return bytes_; }

 private:
  using PacketKey = std::pair<std::string, uint16_t>;
  using CorrelationKey = std::pair<std::string, std::string>;
  struct Expiry {
    int64_t at_ms;
    std::weak_ptr<Entry> entry;
    std::optional<PacketKey> packet_key;
    std::optional<CorrelationKey> correlation_key;
    size_t bytes;
  };
  struct Keys {
    std::optional<PacketKey> packet_key;
    std::optional<CorrelationKey> correlation_key;
  };
  void expire();
  void drop_front();

  Clock* clock_;
  Options options_;
  // Hash maps: every MQTT 5 request passes through here (an ordered map's string compares
  // showed in profiles of the $DB benchmarks).
  absl::flat_hash_map<PacketKey, std::shared_ptr<Entry>> by_packet_id_;
  absl::flat_hash_map<CorrelationKey, std::shared_ptr<Entry>> by_correlation_;
  // Keys of running entries, to move into expiry_ when answered.
  absl::flat_hash_map<const Entry*, Keys> running_;
  std::deque<Expiry> expiry_;  // answered entries, oldest first
  size_t bytes_ = 0;
};

}  // namespace topicdb::db::adapter
