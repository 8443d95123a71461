// Routing: from one published message to the sessions whose subscriptions match, the
// subscription index itself, and retained messages.
#include "broker/router.h"

#include <algorithm>

#include "base/log.h"
#include "broker/codec/property_codec.h"
#include "broker/connection.h"

namespace topicdb::broker {

Router::Router(const BrokerOptions& options, BrokerStats* stats, Clock* clock, StateStore* store)
    : options_(options), stats_(stats), clock_(clock), store_(store) {}

Router::~Router() = default;

RouteResult Router::route(const MessagePtr& message, const PublishContext& context) {
  // Overlapping subscriptions of one session fold into one delivery at the highest granted
  // QoS (MQTT 3.1.1 §3.3.5), carrying every matching subscription identifier (MQTT 5
  // §3.3.4); the epoch marks sessions already seen in this match.
  const uint64_t epoch = ++match_epoch_;
  std::vector<Session*>& targets = targets_;
  std::vector<SharedGroup*>& groups = groups_;
  targets.clear();
  groups.clear();
  topic_tree_.match(message->topic, [&](const Subscriber& s) {
    if (s.group != nullptr) {
      if (context.only_to == nullptr) groups.push_back(s.group);
      return;
    }
    Session* session = s.session;
    if (context.only_to != nullptr && session != context.only_to) return;
    if (message->recipients && !(*message->recipients)(session->username())) return;
    // MQTT-3.8.3-3: no-local keeps a client's own messages from coming back to it.
    if (s.no_local() && message->origin == session) return;
    if (session->match_epoch != epoch) {
      session->match_epoch = epoch;
      session->match_slot = static_cast<uint32_t>(targets.size());
      session->match_qos = s.qos();
      session->match_retain_as_published = s.retain_as_published();
      if (route_ids_.size() <= targets.size()) route_ids_.resize(targets.size() + 1);
      route_ids_[targets.size()].clear();
      targets.push_back(session);
    } else {
      session->match_qos = std::max(session->match_qos, s.qos());
      session->match_retain_as_published |= s.retain_as_published();
    }
    if (s.subscription_id != 0) route_ids_[session->match_slot].push_back(s.subscription_id);
  });
  RouteResult result;
  for (Session* session : targets) {
    uint8_t qos = std::min(message->qos, session->match_qos);
    // MQTT-3.3.1-9 / MQTT 5 §3.8.3.1: RETAIN is cleared on delivery to established
    // subscriptions unless Retain As Published is set.
    bool retain = session->match_retain_as_published && message->retain;
    result.ticket =
        std::max(result.ticket, deliver(*session, message, qos, retain,
                                        route_ids_[session->match_slot], "", context, &result));
    ++result.deliveries;
  }
  for (SharedGroup* group : groups) {
    const SharedGroup::Member* member =
        group->pick(nullptr, /*allow_offline=*/true, message->recipients.get());
    if (member == nullptr) continue;
    std::vector<uint32_t> ids;
    if (member->subscription_id != 0) ids.push_back(member->subscription_id);
    bool retain = (member->options & subscription_option::kRetainAsPublished) && message->retain;
    uint8_t qos = std::min<uint8_t>(message->qos, member->options & subscription_option::kQosMask);
    result.ticket = std::max(result.ticket, deliver(*member->session, message, qos, retain, ids,
                                                    group->key(), context, &result));
    ++result.deliveries;
  }
  return result;
}

uint64_t Router::retain(const MessagePtr& message) {
  if (message->payload.empty()) {
    // MQTT-3.3.1-10/11: an empty retained payload clears the topic's retained message.
    if (!retained_.erase(message->topic)) return 0;
    return store_->delete_retained(message->topic);
  }
  retained_.set(message);
  StoredRetained stored;
  stored.topic = message->topic;
  stored.payload = message->payload;
  stored.qos = message->qos;
  stored.expiry_at_ms = message->expiry_at_ms;
  if (!message->properties.empty())
    mqtt::encode_properties(message->properties, &stored.properties);
  return store_->put_retained(stored);
}

bool Router::subscribe(Session& session, const std::string& filter, uint8_t options,
                       uint32_t subscription_id) {
  bool existed = session.subscriptions().count(filter) > 0;
  session.subscriptions()[filter] = {options, subscription_id};
  auto shared = parse_shared_filter(filter);
  if (shared.is_ok() && shared->has_value()) {
    auto& group = shared_groups_[filter];
    if (!group) {
      group = std::make_unique<SharedGroup>(filter, std::string((*shared)->filter));
      topic_tree_.subscribe(group->filter(), {nullptr, 0, 0, group.get()});
    }
    group->add({&session, options, subscription_id});
  } else {
    topic_tree_.subscribe(filter, {&session, options, subscription_id, nullptr});
  }
  return existed;
}

bool Router::unsubscribe(Session& session, const std::string& filter) {
  if (session.subscriptions().erase(filter) == 0) return false;
  auto group_it = shared_groups_.find(filter);
  if (group_it != shared_groups_.end()) {
    SharedGroup& group = *group_it->second;
    group.remove(&session);
    if (group.empty()) {
      topic_tree_.unsubscribe(group.filter(), {nullptr, 0, 0, &group});
      shared_groups_.erase(group_it);
    }
  } else {
    topic_tree_.unsubscribe(filter, {&session});
  }
  return true;
}

void Router::unsubscribe_all(Session& session) {
  std::vector<std::string> filters;
  for (const auto& [filter, info] : session.subscriptions()) filters.push_back(filter);
  for (const std::string& filter : filters) unsubscribe(session, filter);
}

void Router::send_retained(Session& session, const std::string& filter, uint8_t granted_qos,
                           uint32_t subscription_id) {
  std::vector<MessagePtr> matches;
  int64_t now = clock_->wall_ms();
  retained_.match(filter, [&](const MessagePtr& m) {
    if (m->expiry_at_ms == 0 || m->expiry_at_ms > now) matches.push_back(m);
  });
  std::vector<uint32_t> ids;
  if (subscription_id != 0) ids.push_back(subscription_id);
  for (const MessagePtr& m : matches) {
    // Retained messages sent for a new subscription keep RETAIN set (MQTT-3.3.1-8).
    deliver(session, m, std::min(m->qos, granted_qos), /*retain=*/true, ids, "", PublishContext{},
            nullptr);
  }
}

void Router::redeliver_shared(Session& leaving, bool session_ending) {
  std::vector<Session::Outgoing> taken = leaving.take_shared_undelivered();
  for (Session::Outgoing& entry : taken) {
    if (leaving.persistent()) store_->delete_message(leaving.client_id(), entry.seq);
    auto group = shared_groups_.find(entry.share_group);
    const SharedGroup::Member* member =
        group == shared_groups_.end()
            ? nullptr
            : group->second->pick(&leaving, /*allow_offline=*/session_ending,
                                  entry.message->recipients.get());
    if (member == nullptr) {
      if (!session_ending) {
        // Nobody else can take it now: it stays with this member for its return.
        const Session::Outgoing* kept = nullptr;
        entry.state = StoredMessage::State::kQueued;
        entry.packet_id = 0;
        if (leaving.admit(std::move(entry), &kept) != Session::Admission::kDropped &&
            leaving.persistent()) {
          store_->put_message(leaving.client_id(), to_stored(*kept));
        }
      } else {
        log::warn("shared message to '{}' lost: no member of {} is left", entry.message->topic,
                  entry.share_group);
      }
      continue;
    }
    std::vector<uint32_t> ids;
    if (member->subscription_id != 0) ids.push_back(member->subscription_id);
    uint8_t qos = std::min<uint8_t>(entry.qos, member->options & subscription_option::kQosMask);
    deliver(*member->session, entry.message, qos, entry.retain, ids, entry.share_group,
            PublishContext{}, nullptr);
  }
}

}  // namespace topicdb::broker
