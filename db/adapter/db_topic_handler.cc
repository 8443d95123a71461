#include "db/adapter/db_topic_handler.h"

#include <algorithm>
#include <utility>

#include "base/log.h"
#include "broker/codec/codec.h"
#include "db/adapter/db_topics.h"

namespace topicdb::db::adapter {

namespace {

// What the broker may add to an answer per delivery (subscription identifiers, a topic
// alias): the answer must fit the requester's Maximum Packet Size with them.
constexpr size_t kDeliveryOverhead = 16;

std::string_view path_of(std::string_view topic) {
  return topic.size() > kDbPrefix.size() ? topic.substr(kDbPrefix.size()) : std::string_view();
}

// A write that plugins' after-hook must hear of once it is answered: copies of who asked
// and of the request (the store takes the original).
struct HookedWrite {
  DbRequestHooks* hooks;
  std::string client_id, username;
  bool has_username;
  mqtt::ProtocolVersion version;
  Request request;

  static std::shared_ptr<HookedWrite> make(DbRequestHooks* hooks, const broker::ReservedPublish& p,
                                           const Request& request) {
    if (hooks == nullptr || !is_write(request.op) || !hooks->wants_after()) return nullptr;
    return std::make_shared<HookedWrite>(
        HookedWrite{hooks, p.client_id, p.username, p.has_username, p.version, request});
  }
  void after(const Answer& answer) const {
    if (!answer.is_ok()) return;
    broker::ClientIdentity who{client_id, username, has_username, version};
    hooks->after(who, request, answer);
  }
};

}  // namespace

bool DbTopicHandler::vetoed_by_hooks(const broker::ReservedPublish& p, const Request& request,
                                     const ReplyTo& to, broker::ReservedCompletion& done) {
  broker::ClientIdentity who{p.client_id, p.username, p.has_username, p.version};
  std::optional<Answer> veto = options_.hooks->before(who, request);
  if (!veto) return false;
  operation_stats_.count(operation_name(request.op), veto->code);
  answer_now(to, *veto, std::move(done));
  return true;
}

DbTopicHandler::DbTopicHandler(broker::ServerPublisher* publisher, Clock* clock, Executor executor,
                               Options options)
    : publisher_(publisher),
      executor_(std::move(executor)),
      options_(options),
      dedupe_(clock, options.dedupe) {}

DbTopicHandler::~DbTopicHandler() { stop(); }

void DbTopicHandler::stop() {
  publisher_ = nullptr;
  alive_.reset();
}

size_t DbTopicHandler::in_flight(const std::string& client_id) const {
  auto it = in_flight_.find(client_id);
  return it == in_flight_.end() ? 0 : it->second;
}

DbTopicHandler::ReplyTo DbTopicHandler::reply_to(const broker::ReservedPublish& request,
                                                 std::string_view path) {
  ReplyTo to;
  to.qos = std::min<uint8_t>(request.qos, 2);
  to.max_packet_size = request.max_packet_size;
  if (request.version == mqtt::ProtocolVersion::kV5) {
    // MQTT 5 §4.10: the requester names the response topic; whoever subscribes to it gets
    // the answer, as with any responder. One under '$' ($DB/..., $SYS/...) goes to the
    // requester alone, so no request can forge events or reach another client's answers.
    if (!request.response_topic) {
      to.none = true;
      return to;
    }
    to.topic = *request.response_topic;
    to.correlation_data = request.correlation_data;
    if (!to.topic.empty() && to.topic[0] == '$') to.only_client_id = request.client_id;
  } else {
    to.topic = reply_topic(path);
    to.only_client_id = request.client_id;
  }
  return to;
}

void DbTopicHandler::send_answer(const ReplyTo& to, const std::string& envelope) {
  if (to.none || publisher_ == nullptr) return;
  broker::ServerMessage message;
  message.topic = to.topic;
  message.payload = envelope;
  message.qos = to.qos;
  message.properties.correlation_data = to.correlation_data;
  message.only_client_id = to.only_client_id;
  if (to.max_packet_size != 0) {
    mqtt::PublishPacket packet;
    packet.topic = message.topic;
    packet.payload = message.payload;
    packet.qos = message.qos;
    packet.packet_id = 1;
    packet.properties = message.properties;
    const size_t size =
        mqtt::encoded_publish_size(packet, mqtt::ProtocolVersion::kV5) + kDeliveryOverhead;
    if (size > to.max_packet_size) {
      message.payload = Answer::error(413, "the answer (" + std::to_string(size) +
                                               " bytes) is larger than your Maximum Packet "
                                               "Size of " +
                                               std::to_string(to.max_packet_size) + " bytes")
                            .to_envelope(to.request_id);
    }
  }
  publisher_->publish(std::move(message));
}

void DbTopicHandler::answer_now(const ReplyTo& to, const Answer& answer,
                                broker::ReservedCompletion done, Status status) {
  send_answer(to, answer.to_envelope(to.request_id));
  done(std::move(status));
}

void DbTopicHandler::on_publish(broker::ReservedPublish p, broker::ReservedCompletion done) {
  if (publisher_ == nullptr) {
    done(Status::unavailable("the document store is shutting down"));
    return;
  }
  const std::string_view path = path_of(p.topic);
  ReplyTo to = reply_to(p, path);
  if (is_server_topic(path)) {
    // Events and 3.1.1 answers are the broker's to publish (a forged event would reach
    // every watcher). MQTT 5 publishers get 0x87 in the PUBACK; everyone gets the answer.
    const std::string why = "clients cannot publish to " + p.topic;
    operation_stats_.count(DbOperationStats::kInvalid, 403);
    answer_now(to, Answer::error(403, why), std::move(done), Status::permission_denied(why));
    return;
  }

  RequestKey key;
  key.client_id = p.client_id;
  if (p.qos > 0) key.packet_id = p.packet_id;
  key.correlation_data = p.correlation_data;
  key.fingerprint = RequestDedupe::fingerprint(p.topic, p.payload);
  if (!p.is_will) {
    if (std::shared_ptr<RequestDedupe::Entry> earlier = dedupe_.find(key, p.dup)) {
      // Already run (or running): the resend gets the same answer, nothing runs again.
      if (earlier->answered) {
        send_answer(to, earlier->envelope);
        done(Status::ok());
      } else {
        earlier->waiters.push_back(
            [this, to = std::move(to), done = std::move(done)](const std::string& envelope) {
              send_answer(to, envelope);
              done(Status::ok());
            });
      }
      return;
    }
  }

  ParsedRequest parsed = parse_request(path, p.payload, {.max_payload = options_.max_payload});
  to.request_id = parsed.request_id;
  if (!parsed.ok()) {
    operation_stats_.count(DbOperationStats::kInvalid, parsed.error.code);
    answer_now(to, parsed.error, std::move(done));
    return;
  }
  const std::string_view op = operation_name(parsed.request->op);
  if (access_ != nullptr) {
    broker::ClientIdentity who;
    who.client_id = p.client_id;
    who.username = p.username;
    who.has_username = p.has_username;
    who.version = p.version;
    if (Status allowed = access_->authorize(who, *parsed.request, p.qos); !allowed.is_ok()) {
      // MQTT 5: 0x87 in the PUBACK; every version: a 403 answer naming entity and operation.
      operation_stats_.count(op, 403);
      answer_now(to, Answer::error(403, allowed.message()), std::move(done), allowed);
      return;
    }
    parsed.request->owner = access_->scope_for(who);
  }
  // Plugins' $DB hooks (db_request_hooks.h): a veto answers here, before the store.
  if (options_.hooks != nullptr && vetoed_by_hooks(p, *parsed.request, to, done)) return;
  size_t& running = in_flight_[p.client_id];
  if (running >= options_.max_inflight) {
    operation_stats_.count(op, 503);
    answer_now(to,
               Answer::unavailable("too many requests in flight (at most " +
                                   std::to_string(options_.max_inflight) +
                                   " per connection): retry after an answer"),
               std::move(done));
    return;
  }
  ++running;
  Request request = std::move(*parsed.request);
  request.client_id = p.client_id;
  std::shared_ptr<RequestDedupe::Entry> entry = p.is_will ? nullptr : dedupe_.start(key);
  std::shared_ptr<HookedWrite> hooked = HookedWrite::make(options_.hooks, p, request);
  std::weak_ptr<bool> alive = alive_;
  executor_(std::move(request),
            [this, alive, op, client_id = std::move(p.client_id), to = std::move(to),
             entry = std::move(entry), hooked = std::move(hooked),
             done = std::move(done)](Answer answer) mutable {
              if (alive.expired()) return;  // stopped: the broker is gone or going
              operation_stats_.count(op, answer.code);
              auto it = in_flight_.find(client_id);
              if (it != in_flight_.end() && --it->second == 0) in_flight_.erase(it);
              std::string envelope = answer.to_envelope(to.request_id);
              send_answer(to, envelope);
              done(Status::ok());
              if (hooked) {
                // Plugins look into the answer's value (a create's comes as text).
                answer.parse_data_text();
                hooked->after(answer);
              }
              if (entry) {
                for (auto& waiter : dedupe_.finish(entry, std::move(envelope)))
                  waiter(entry->envelope);
              }
            });
}

Status DbTopicHandler::authorize_subscribe(const broker::ClientIdentity&, std::string_view filter) {
  if (may_subscribe(filter)) return Status::ok();
  return Status::permission_denied(
      "only $DB/{entity}/events/... and $DB/_reply/... may be subscribed to; requests are "
      "never delivered to subscribers");
}

void DbTopicHandler::on_change(const ChangeEvent& event) {
  if (publisher_ == nullptr) return;
  broker::ServerMessage message;
  message.topic = std::string(kDbPrefix) + event.topic_path();
  message.payload = event.to_json();
  message.qos = 1;
  if (access_ != nullptr) message.recipients = access_->recipients_for(event);
  publisher_->publish(std::move(message));
}

}  // namespace topicdb::db::adapter
