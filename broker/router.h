// Router: where every message goes. Owns the subscription index (topic tree and shared
// groups) and the retained messages; turns one message into deliveries to the sessions whose
// subscriptions match, and a session's outgoing entries into bytes on its connection.
// Client PUBLISHes, wills, $SYS, $DB answers and change events (and later publishes
// forwarded from other nodes) all go through route(). The hot path of the broker.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/clock.h"
#include "broker/broker_options.h"
#include "broker/broker_stats.h"
#include "broker/message.h"
#include "broker/persist/state_store.h"
#include "broker/retained_store.h"
#include "broker/session.h"
#include "broker/shared_subscriptions.h"
#include "broker/topic_tree.h"

namespace topicdb::broker {

class Connection;

// Who publishes and how: passed to every route() call instead of being kept in fields
// around it, so a route from inside another (a will fired during a takeover) cannot see
// the outer one's state.
struct PublishContext {
  // The publishing client's session, or null for messages the broker makes itself.
  // Back-pressure applies only to a publisher: a subscriber that becomes congested while
  // this message is routed is reported in RouteResult::congested.
  const Session* publisher = nullptr;
  // When set, only this session's subscriptions receive the message (no shared group).
  const Session* only_to = nullptr;
};

struct RouteResult {
  uint64_t ticket = 0;           // highest store ticket the deliveries needed
  size_t deliveries = 0;         // sessions (or shared groups) the message went to
  Session* congested = nullptr;  // a subscriber the publisher should now wait for
};

class Router {
 public:
  // Borrows everything; all of it must outlive the router.
  Router(const BrokerOptions& options, BrokerStats* stats, Clock* clock, StateStore* store);
  ~Router();
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  // Delivers `message` to every matching subscription. Overlapping subscriptions of one
  // session fold into one delivery at the highest granted QoS (MQTT 3.1.1 §3.3.5).
  RouteResult route(const MessagePtr& message, const PublishContext& context);

  // --- retained messages -----------------------------------------------------------------
  // Sets or (empty payload, MQTT-3.3.1-10/11) clears the retained message of its topic and
  // writes it to the store; returns the store ticket (0 when nothing was written).
  uint64_t retain(const MessagePtr& message);
  // Sets it in memory only ($SYS values, rebuilt after a restart).
  void retain_in_memory(MessagePtr message) { retained_.set(std::move(message)); }
  // Loading at start-up: the message is already in the store.
  void restore_retained(MessagePtr message) { retained_.set(std::move(message)); }
  size_t retained_count() const { return retained_.size(); }

  // --- subscriptions ---------------------------------------------------------------------
  // Adds or replaces (MQTT-3.8.4-3) the session's subscription; true if it replaced one.
  bool subscribe(Session& session, const std::string& filter, uint8_t options,
                 uint32_t subscription_id);
  // False when the session had no such subscription.
  bool unsubscribe(Session& session, const std::string& filter);
  void unsubscribe_all(Session& session);
  // The retained messages matching a new subscription (MQTT-3.3.1-6), RETAIN set.
  void send_retained(Session& session, const std::string& filter, uint8_t granted_qos,
                     uint32_t subscription_id);
  size_t subscription_count() const { return topic_tree_.subscription_count(); }

  // --- delivery to one session -----------------------------------------------------------
  // Hands one message to one session at `qos`: written at once (QoS 0, or QoS 1/2 with room
  // in the window), queued, or dropped past the queue bound. Returns the store ticket.
  uint64_t deliver(Session& session, const MessagePtr& message, uint8_t qos, bool retain,
                   const std::vector<uint32_t>& subscription_ids, const std::string& share_group,
                   const PublishContext& context, RouteResult* result);
  // Sends what the session's window has room for: resends first, then queued messages.
  void fill_window(Session& session);
  // Drops an in-flight message (refused by the client, or too large for it).
  void discard_outgoing(Session& session, uint16_t packet_id);
  // A departing member's shared-subscription messages go to another member of the group
  // (MQTT 5 §4.8.2); without one they stay queued, or are lost when the session ends.
  void redeliver_shared(Session& leaving, bool session_ending);
  StoredMessage to_stored(const Session::Outgoing& entry) const;

 private:
  // Encodes one PUBLISH for `c`; false (nothing written) when it exceeds the client's
  // Maximum Packet Size (MQTT 5 §3.1.2.11.4: dropped for that client).
  bool write_publish(Connection& c, const MessagePtr& message, uint8_t qos, bool retain, bool dup,
                     uint16_t packet_id, const std::vector<uint32_t>& subscription_ids);
  bool write_shared_qos0(Connection& c, const Message& m, bool retain);
  // Past max_write_buffer a connected subscriber's QoS 0 messages are dropped and counted.
  bool over_write_limit(Session& session, const Connection& c);
  // Counts a message dropped for `session` and logs it, at most one line a minute per client.
  void count_drop(Session& session, const char* why);
  void note_congestion(Session& session, const PublishContext& context, RouteResult* result);

  const BrokerOptions& options_;
  BrokerStats* stats_;
  Clock* clock_;
  StateStore* store_;
  TopicTree topic_tree_;
  RetainedStore retained_;
  std::unordered_map<std::string, std::unique_ptr<SharedGroup>> shared_groups_;  // by "$share/g/f"
  uint64_t match_epoch_ = 0;
  // Subscription identifiers per target of the match under way, indexed by match_slot;
  // kept between publishes so their capacity is reused.
  std::vector<std::vector<uint32_t>> route_ids_;
  std::vector<Session*> targets_;  // scratch for route(); reused
  std::vector<SharedGroup*> groups_;
};

// Back-pressure's test (backpressure.cc): a connected subscriber with more than the high
// mark unwritten, or a queue past half its bound, slows the publishers that feed it, unless
// it is stuck (Broker::check_stuck_subscribers).
bool is_congested(const Session& session, const BrokerOptions& options);
// Clears `stuck` once the session is below the marks again (queue under half its bound,
// unwritten bytes under the high mark); true while it stays stuck.
bool still_stuck(Session& session, const BrokerOptions& options);
bool is_drained(const Session& session, const BrokerOptions& options);

}  // namespace topicdb::broker
