#include "broker/session.h"

#include <algorithm>

namespace topicdb::broker {

namespace {
const std::deque<Session::Outgoing>& empty_list() {
  static const std::deque<Session::Outgoing> kEmpty;
  return kEmpty;
}
}  // namespace

// Every connection has a Session, so its size is part of the memory of an idle connection
// (docs/benchmarks.md, idle_memory): 112 bytes fill jemalloc's 112-byte class and glibc's
// 128-byte chunks exactly, where 128 bytes took jemalloc's 128 and glibc's 144. The member
// order in session.h leaves no holes; a new member costs the next class up.
#if defined(__x86_64__) && defined(__GLIBCXX__)
static_assert(sizeof(Session) <= 112, "Session grew past its allocation class (see above)");
#endif

Session::Session(std::string client_id, uint32_t expiry_interval_s, size_t max_inflight,
                 size_t max_queued)
    : client_id_(std::move(client_id)),
      expiry_interval_s_(expiry_interval_s),
      max_queued_(static_cast<uint32_t>(max_queued)),
      max_inflight_(static_cast<uint16_t>(std::clamp<size_t>(max_inflight, 1, 0xFFFF))) {}

const std::map<std::string, Session::SubscriptionInfo>& Session::subscriptions() const {
  static const std::map<std::string, SubscriptionInfo> kNone;
  return subscriptions_ ? *subscriptions_ : kNone;
}

const std::deque<Session::Outgoing>& Session::inflight() const {
  return queues_ ? queues_->inflight : empty_list();
}

const std::deque<Session::Outgoing>& Session::queued() const {
  return queues_ ? queues_->queued : empty_list();
}

void Session::set_max_inflight(size_t n) {
  max_inflight_ = static_cast<uint16_t>(std::clamp<size_t>(n, 1, 0xFFFF));
}

Session::Admission Session::admit(MessagePtr message, uint8_t qos, bool retain,
                                  const Outgoing** entry) {
  Outgoing out;
  out.message = std::move(message);
  out.qos = qos;
  out.retain = retain;
  return admit(std::move(out), entry);
}

Session::Admission Session::admit(Outgoing out, const Outgoing** entry) {
  Queues& q = queues();
  // Queue behind anything already waiting, so delivery keeps publish order (MQTT-4.6.0-5).
  if (connection_ && q.queued.empty() && resend_pending_ == 0 &&
      q.inflight.size() < max_inflight_) {
    out.seq = next_seq_++;
    q.inflight.push_back(std::move(out));
    send_entry(q.inflight.back());
    *entry = &q.inflight.back();
    return Admission::kSendNow;
  }
  if (q.queued.size() >= max_queued_) {
    ++q.dropped;
    *entry = nullptr;
    return Admission::kDropped;
  }
  out.seq = next_seq_++;
  push_queued(std::move(out));
  *entry = &q.queued.back();
  return Admission::kQueued;
}

void Session::push_queued(Outgoing entry) {
  Queues& q = queues();
  if (entry.message && entry.message->expiry_at_ms != 0) ++q.queued_with_expiry;
  q.queued.push_back(std::move(entry));
}

void Session::send_entry(Outgoing& entry) {
  entry.packet_id = next_packet_id();
  entry.id_serial = ++queues().ids_allocated;
  entry.state = StoredMessage::State::kPublishSent;
}

// Packet ids cycle through 1..65535, skipping ids still in flight (MQTT-2.3.1-2: an id is
// reused only after its flow completed).
uint16_t Session::next_packet_id() {
  const std::deque<Outgoing>& inflight = queues().inflight;
  // Ids are handed out in sequence, so the next one can only be in use by an entry that got
  // its id 65535 allocations ago. If even the oldest entry in flight is younger than that,
  // no scan is needed (restored entries have serial 0 and force the scan).
  if (inflight.empty() || (inflight.front().id_serial != 0 &&
                           queues_->ids_allocated - inflight.front().id_serial < 65000)) {
    bool all_young = true;
    if (!inflight.empty() && inflight.size() > 1) {
      // Entries are mostly in allocation order; the front is the oldest unless a resend or a
      // shared redelivery reordered them, which the check below catches cheaply.
      all_young = inflight.back().id_serial >= inflight.front().id_serial;
    }
    if (all_young) {
      last_packet_id_ = static_cast<uint16_t>(last_packet_id_ == 65535 ? 1 : last_packet_id_ + 1);
      return last_packet_id_;
    }
  }
  for (int attempts = 0; attempts < 65535; ++attempts) {
    last_packet_id_ = static_cast<uint16_t>(last_packet_id_ == 65535 ? 1 : last_packet_id_ + 1);
    bool in_use = std::any_of(inflight.begin(), inflight.end(),
                              [&](const Outgoing& o) { return o.packet_id == last_packet_id_; });
    if (!in_use) return last_packet_id_;
  }
  return last_packet_id_;  // unreachable: the window is far smaller than 65535
}

void Session::erase_inflight(std::deque<Outgoing>::iterator it) {
  if (it->resend_pending) --resend_pending_;
  queues_->inflight.erase(it);
}

void Session::mark_inflight_for_resend() {
  resend_pending_ = 0;
  if (!queues_) return;
  for (Outgoing& o : queues_->inflight) {
    o.resend_pending = true;
    ++resend_pending_;
  }
}

std::optional<uint64_t> Session::on_puback(uint16_t packet_id) {
  if (!queues_) return std::nullopt;
  auto& inflight = queues_->inflight;
  auto it = std::find_if(inflight.begin(), inflight.end(), [&](const Outgoing& o) {
    return o.packet_id == packet_id && o.qos == 1 && o.state == StoredMessage::State::kPublishSent;
  });
  if (it == inflight.end()) return std::nullopt;
  uint64_t seq = it->seq;
  erase_inflight(it);
  return seq;
}

std::optional<uint64_t> Session::on_pubrec(uint16_t packet_id) {
  if (!queues_) return std::nullopt;
  auto& inflight = queues_->inflight;
  auto it = std::find_if(inflight.begin(), inflight.end(),
                         [&](const Outgoing& o) { return o.packet_id == packet_id && o.qos == 2; });
  if (it == inflight.end()) return std::nullopt;
  // A repeated PUBREC (after our PUBREL was lost) is answered with PUBREL again.
  it->state = StoredMessage::State::kPubrelSent;
  it->message.reset();  // the payload is no longer needed once the client holds it
  return it->seq;
}

std::optional<uint64_t> Session::on_pubcomp(uint16_t packet_id) {
  if (!queues_) return std::nullopt;
  auto& inflight = queues_->inflight;
  auto it = std::find_if(inflight.begin(), inflight.end(), [&](const Outgoing& o) {
    return o.packet_id == packet_id && o.state == StoredMessage::State::kPubrelSent;
  });
  if (it == inflight.end()) return std::nullopt;
  uint64_t seq = it->seq;
  erase_inflight(it);
  return seq;
}

std::vector<Session::Outgoing> Session::take_shared_undelivered() {
  std::vector<Outgoing> taken;
  if (!queues_) return taken;
  auto take_from = [&](std::deque<Outgoing>& list, bool is_inflight) {
    for (auto it = list.begin(); it != list.end();) {
      if (!it->share_group.empty() && it->state != StoredMessage::State::kPubrelSent) {
        if (is_inflight && it->resend_pending) --resend_pending_;
        if (!is_inflight && it->message && it->message->expiry_at_ms != 0) {
          --queues_->queued_with_expiry;
        }
        taken.push_back(std::move(*it));
        taken.back().resend_pending = false;
        it = list.erase(it);
      } else {
        ++it;
      }
    }
  };
  take_from(queues_->inflight, true);
  take_from(queues_->queued, false);
  std::sort(taken.begin(), taken.end(),
            [](const Outgoing& a, const Outgoing& b) { return a.seq < b.seq; });
  return taken;
}

std::vector<uint64_t> Session::drop_expired_queued(int64_t now_wall_ms) {
  std::vector<uint64_t> dropped;
  // Called on every ack: without messages that can expire there is nothing to scan.
  if (!queues_ || queues_->queued_with_expiry == 0) return dropped;
  auto& queued = queues_->queued;
  for (auto it = queued.begin(); it != queued.end();) {
    int64_t expiry = it->message ? it->message->expiry_at_ms : 0;
    if (expiry != 0 && expiry <= now_wall_ms) {
      dropped.push_back(it->seq);
      --queues_->queued_with_expiry;
      it = queued.erase(it);
    } else {
      ++it;
    }
  }
  return dropped;
}

std::optional<uint64_t> Session::discard_inflight(uint16_t packet_id) {
  if (!queues_) return std::nullopt;
  auto& inflight = queues_->inflight;
  auto it = std::find_if(inflight.begin(), inflight.end(),
                         [&](const Outgoing& o) { return o.packet_id == packet_id; });
  if (it == inflight.end()) return std::nullopt;
  uint64_t seq = it->seq;
  erase_inflight(it);
  return seq;
}

bool Session::add_inbound_qos2(uint16_t packet_id) {
  if (has_inbound_qos2(packet_id)) return false;
  queues().inbound_qos2.push_back(packet_id);
  return true;
}

bool Session::remove_inbound_qos2(uint16_t packet_id) {
  if (!queues_) return false;
  auto& ids = queues_->inbound_qos2;
  auto it = std::find(ids.begin(), ids.end(), packet_id);
  if (it == ids.end()) return false;
  *it = ids.back();  // order does not matter
  ids.pop_back();
  return true;
}

bool Session::has_inbound_qos2(uint16_t packet_id) const {
  if (!queues_) return false;
  const auto& ids = queues_->inbound_qos2;
  return std::find(ids.begin(), ids.end(), packet_id) != ids.end();
}

const std::vector<uint16_t>& Session::inbound_qos2() const {
  static const std::vector<uint16_t> kNone;
  return queues_ ? queues_->inbound_qos2 : kNone;
}

void Session::restore_message(Outgoing entry) {
  next_seq_ = std::max(next_seq_, entry.seq + 1);
  if (entry.state == StoredMessage::State::kQueued) {
    push_queued(std::move(entry));
  } else {
    last_packet_id_ = std::max(last_packet_id_, entry.packet_id);
    queues().inflight.push_back(std::move(entry));
  }
}

}  // namespace topicdb::broker
