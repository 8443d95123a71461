#include "broker/session.h"

#include <algorithm>

namespace topicdb::broker {

Session::Session(std::string client_id, uint32_t expiry_interval_s, size_t max_inflight,
                 size_t max_queued)
    : client_id_(std::move(client_id)),
      expiry_interval_s_(expiry_interval_s),
      max_inflight_(max_inflight == 0 ? 1 : max_inflight),
      max_queued_(max_queued) {}

const std::deque<Session::Outgoing>& Session::queued() const {
  static const std::deque<Outgoing> kEmpty;
  return queued_ ? *queued_ : kEmpty;
}

std::deque<Session::Outgoing>& Session::mutable_queue() {
  if (!queued_) queued_ = std::make_unique<std::deque<Outgoing>>();
  return *queued_;
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
  // Queue behind anything already waiting, so delivery keeps publish order (MQTT-4.6.0-5).
  if (connection_ && queued().empty() && inflight_.size() < max_inflight_) {
    out.seq = next_seq_++;
    inflight_.push_back(std::move(out));
    send_entry(inflight_.back());
    *entry = &inflight_.back();
    return Admission::kSendNow;
  }
  if (queued().size() >= max_queued_) {
    ++dropped_;
    *entry = nullptr;
    return Admission::kDropped;
  }
  out.seq = next_seq_++;
  std::deque<Outgoing>& queue = mutable_queue();
  queue.push_back(std::move(out));
  *entry = &queue.back();
  return Admission::kQueued;
}

void Session::send_entry(Outgoing& entry) {
  entry.packet_id = next_packet_id();
  entry.state = StoredMessage::State::kPublishSent;
}

// Packet ids cycle through 1..65535, skipping ids still in flight (MQTT-2.3.1-2: an id is
// reused only after its flow completed).
uint16_t Session::next_packet_id() {
  for (int attempts = 0; attempts < 65535; ++attempts) {
    last_packet_id_ = static_cast<uint16_t>(last_packet_id_ == 65535 ? 1 : last_packet_id_ + 1);
    bool in_use = std::any_of(inflight_.begin(), inflight_.end(),
                              [&](const Outgoing& o) { return o.packet_id == last_packet_id_; });
    if (!in_use) return last_packet_id_;
  }
  return last_packet_id_;  // unreachable: the window is far smaller than 65535
}

void Session::erase_inflight(std::vector<Outgoing>::iterator it) {
  if (it->resend_pending) --resend_pending_;
  inflight_.erase(it);
}

void Session::mark_inflight_for_resend() {
  resend_pending_ = 0;
  for (Outgoing& o : inflight_) {
    o.resend_pending = true;
    ++resend_pending_;
  }
}

std::optional<uint64_t> Session::on_puback(uint16_t packet_id) {
  auto it = std::find_if(inflight_.begin(), inflight_.end(), [&](const Outgoing& o) {
    return o.packet_id == packet_id && o.qos == 1 && o.state == StoredMessage::State::kPublishSent;
  });
  if (it == inflight_.end()) return std::nullopt;
  uint64_t seq = it->seq;
  erase_inflight(it);
  return seq;
}

std::optional<uint64_t> Session::on_pubrec(uint16_t packet_id) {
  auto it = std::find_if(inflight_.begin(), inflight_.end(),
                         [&](const Outgoing& o) { return o.packet_id == packet_id && o.qos == 2; });
  if (it == inflight_.end()) return std::nullopt;
  // A repeated PUBREC (after our PUBREL was lost) is answered with PUBREL again.
  it->state = StoredMessage::State::kPubrelSent;
  it->message.reset();  // the payload is no longer needed once the client holds it
  return it->seq;
}

std::optional<uint64_t> Session::on_pubcomp(uint16_t packet_id) {
  auto it = std::find_if(inflight_.begin(), inflight_.end(), [&](const Outgoing& o) {
    return o.packet_id == packet_id && o.state == StoredMessage::State::kPubrelSent;
  });
  if (it == inflight_.end()) return std::nullopt;
  uint64_t seq = it->seq;
  erase_inflight(it);
  return seq;
}

std::vector<Session::Outgoing> Session::take_shared_undelivered() {
  std::vector<Outgoing> taken;
  auto take_from = [&](auto& list) {
    for (auto it = list.begin(); it != list.end();) {
      if (!it->share_group.empty() && it->state != StoredMessage::State::kPubrelSent) {
        if (it->resend_pending) --resend_pending_;
        taken.push_back(std::move(*it));
        taken.back().resend_pending = false;
        it = list.erase(it);
      } else {
        ++it;
      }
    }
  };
  take_from(inflight_);
  if (queued_) take_from(*queued_);
  std::sort(taken.begin(), taken.end(),
            [](const Outgoing& a, const Outgoing& b) { return a.seq < b.seq; });
  return taken;
}

std::vector<uint64_t> Session::drop_expired_queued(int64_t now_wall_ms) {
  std::vector<uint64_t> dropped;
  if (!queued_) return dropped;
  for (auto it = queued_->begin(); it != queued_->end();) {
    int64_t expiry = it->message ? it->message->expiry_at_ms : 0;
    if (expiry != 0 && expiry <= now_wall_ms) {
      dropped.push_back(it->seq);
      it = queued_->erase(it);
    } else {
      ++it;
    }
  }
  return dropped;
}

std::optional<uint64_t> Session::discard_inflight(uint16_t packet_id) {
  auto it = std::find_if(inflight_.begin(), inflight_.end(),
                         [&](const Outgoing& o) { return o.packet_id == packet_id; });
  if (it == inflight_.end()) return std::nullopt;
  uint64_t seq = it->seq;
  erase_inflight(it);
  return seq;
}

void Session::restore_message(Outgoing entry) {
  next_seq_ = std::max(next_seq_, entry.seq + 1);
  if (entry.state == StoredMessage::State::kQueued) {
    mutable_queue().push_back(std::move(entry));
  } else {
    last_packet_id_ = std::max(last_packet_id_, entry.packet_id);
    inflight_.push_back(std::move(entry));
  }
}

}  // namespace topicdb::broker
