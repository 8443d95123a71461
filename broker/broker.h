// Broker: the MQTT broker on one libuv loop, as composition and lifecycle: it owns the
// listeners, connections and sessions, and wires them to the Router (topic tree, shared
// groups, retained messages, delivery), the AckQueue, the Authorizer and the reserved-topic
// handlers. The protocol rules of each packet live in handle_*.cc. Durable state goes
// through a StateStore; acknowledgements that promise durability wait for it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <uv.h>

#include "base/clock.h"
#include "base/status.h"
#include "broker/ack_queue.h"
#include "broker/auth_plugin.h"
#include "broker/authenticator.h"
#include "broker/authorizer.h"
#include "broker/broker_observer.h"
#include "broker/broker_options.h"
#include "broker/broker_stats.h"
#include "broker/codec/codec.h"
#include "broker/connection.h"
#include "broker/connection_owner.h"
#include "broker/login_throttle.h"
#include "broker/message.h"
#include "broker/persist/state_store.h"
#include "broker/reserved_topics.h"
#include "broker/router.h"
#include "broker/server_publish.h"
#include "broker/session.h"
#include "broker/will_schedule.h"
#include "net/listener.h"
#include "net/stream.h"

namespace topicdb::broker {

class Broker final : public ConnectionOwner, public net::StreamAcceptor, public ServerPublisher {
 public:
  // Borrows loop, clock and store; they must outlive the broker.
  Broker(uv_loop_t* loop, BrokerOptions options, Clock* clock, StateStore* store);
  ~Broker() override;
  Broker(const Broker&) = delete;
  Broker& operator=(const Broker&) = delete;

  // Enhanced authentication methods offered to MQTT 5 clients. Call before listen().
  void add_auth_plugin(std::unique_ptr<AuthPlugin> plugin);
  // Who may connect, publish and subscribe; the default allows everything. Call before
  // listen().
  void set_authorizer(std::unique_ptr<Authorizer> authorizer);
  // The Authorizer in use, for a reserved-topic handler that authorizes its own requests
  // (ReservedTopicHandler::authorizes_publish). Valid until the next set_authorizer.
  Authorizer& authorizer() { return *authorizer_; }
  // Checks the user name and password of every CONNECT that uses no enhanced
  // authentication method; none by default (everyone passes). Call before listen().
  void set_authenticator(std::unique_ptr<Authenticator> authenticator);
  // Told of connects, disconnects and accepted client messages (plugins); none by default.
  // Call before listen().
  void set_observer(std::unique_ptr<BrokerObserver> observer) { observer_ = std::move(observer); }
  // Registers the handler of a reserved prefix ("$DB/"); borrowed, it must outlive the
  // broker and complete (or drop) its pending requests before the broker is destroyed.
  // "$SYS/" has the broker's own handler (read-only for clients).
  void add_reserved_handler(std::string prefix, ReservedTopicHandler* handler);
  // A message from inside the process (ServerPublisher): $SYS, $DB answers and events.
  // Returns the number of sessions (or shared groups) it went to.
  size_t publish(ServerMessage message) override;

  // Loads persistent sessions and retained messages from the store. Call before listen().
  Status restore();
  // Binds a listener; returns the bound "host:port" (port 0 picks a free one). The loop must
  // have net::LoopBuffers attached.
  // `wrap` puts TLS or WebSocket over each accepted connection (none for plain MQTT);
  // `transport` names the kind of listener in the per-listener statistics.
  Result<std::string> listen(const std::string& host, int port, net::StreamWrap wrap = nullptr,
                             Transport transport = Transport::kMqtt);
  // Serves one client over `stream` (accepted by a listener, or a net::MemoryStream in
  // tests): the broker owns it from now on and starts reading it.
  void adopt(std::unique_ptr<net::Stream> stream) override {
    adopt_tagged(std::move(stream), static_cast<uint8_t>(Transport::kMqtt));
  }
  // The same, from a listener whose tag is a Transport.
  void adopt_tagged(std::unique_ptr<net::Stream> stream, uint8_t transport) override;
  // Stops accepting, closes every connection, flushes durable state. `done` runs on the loop
  // once nothing of the broker is pending; the loop then has no broker handles left.
  void shutdown(std::function<void()> done);

  // True once shutdown() has finished: no connection or handle of the broker remains.
  bool is_shut_down() const { return shut_down_; }

  const BrokerOptions& options() const { return options_; }
  const BrokerStats& stats() const { return stats_; }
  // The $SYS topics' figures (sys_topics.cc); counts connected clients, O(connections).
  SysFigures sys_figures() const;
  size_t connection_count() const { return connections_.size(); }
  size_t session_count() const { return sessions_.size(); }
  size_t retained_count() const { return router_.retained_count(); }
  size_t subscription_count() const { return router_.subscription_count(); }

  uv_loop_t* loop() const { return loop_; }

  // --- ConnectionOwner: called by Connection ---------------------------------------------
  Clock& clock() const override { return *clock_; }
  uint32_t max_packet_size() const override { return options_.max_packet_size; }
  void on_packet(Connection& connection, const mqtt::FrameHeader& header,
                 std::string_view body) override;
  void on_malformed(Connection& connection, const Status& status) override;
  void count_bytes_received(const Connection& c, uint64_t n) override {
    stats_.bytes_received += n;
    stats_.of(c.transport).bytes_received += n;
  }
  void on_connection_closing(Connection& connection) override;
  void release_connection(Connection* connection) override;
  void schedule_flush(Connection* connection) override { dirty_.push_back(connection); }
  // The connection's write queue shrank: publishers waiting for its session may go on.
  void on_connection_drained(Connection& connection) override;
  void count_bytes_sent(const Connection& c, uint64_t n) override {
    stats_.bytes_sent += n;
    stats_.of(c.transport).bytes_sent += n;
  }

 private:
  // handle_connect.cc
  void handle_connect(Connection& c, const mqtt::FrameHeader& header, std::string_view body);
  void accept_connect(Connection& c, mqtt::ConnectPacket& p,
                      const std::optional<std::string>& auth_data);
  void refuse_connect(Connection& c, mqtt::ProtocolVersion v, uint8_t code,
                      const std::string& reason = "");
  void resume_session(Session& session, Connection& c);
  std::string assign_client_id();
  // handle_login.cc: basic authentication through the Authenticator, and the delayed
  // refusal of a failed login.
  void check_login(Connection& c, std::unique_ptr<mqtt::ConnectPacket> p);
  void finish_login(uint64_t connection_id, const Status& verdict);
  // Counts a failed login (password or enhanced method) and sends the CONNACK refusal
  // `code` after the throttle's delay; the CONNECT stays held until then.
  void refuse_failed_login(Connection& c, uint8_t code, const std::string& why);
  // handle_auth.cc
  AuthPlugin* find_auth_plugin(const std::string& method) const;
  void handle_auth(Connection& c, const mqtt::AuthPacket& a);
  void continue_authentication(Connection& c, std::string_view client_data);
  void send_auth(Connection& c, uint8_t reason_code, const std::string& data);
  // handle_publish.cc
  void handle_publish(Connection& c, const mqtt::PublishPacket& p);
  bool resolve_topic_alias(Connection& c, const mqtt::PublishPacket& p, std::string* topic);
  void handle_ack(Connection& c, const mqtt::AckPacket& p);
  void handle_ack(Connection& c, mqtt::PacketType type, uint16_t packet_id, uint8_t reason_code);
  bool try_fast_ack(Connection& c, const mqtt::FrameHeader& header, std::string_view body);
  // handle_subscribe.cc
  void handle_subscribe(Connection& c, const mqtt::SubscribePacket& p);
  void handle_unsubscribe(Connection& c, const mqtt::UnsubscribePacket& p);
  Status authorize_subscription(const ClientIdentity& who, const std::string& filter, uint8_t qos);
  // Whether the reserved-topic handler of `topic` authorizes publishes there itself.
  bool handler_authorizes(std::string_view topic) const;
  // handle_reserved.cc
  void dispatch_reserved(Connection& c, const mqtt::PublishPacket& p, std::string topic,
                         ReservedTopicHandler& handler);
  void finish_reserved(uint64_t connection_id, const std::string& client_id, uint64_t token,
                       uint16_t packet_id, uint8_t qos, const Status& status);
  void send_will_to_handler(Will will, ReservedTopicHandler& handler);
  void refuse_publish(Connection& c, const mqtt::PublishPacket& p, const Status& why);
  // session_lifecycle.cc
  Session& create_session(const std::string& client_id, uint32_t expiry_interval_s);
  void destroy_session(const std::string& client_id);
  StoredSession to_stored(const Session& session) const;
  void detach_session(Connection& c);
  void publish_will_now(Will will);
  void expire_sessions_and_wills();
  // broker.cc
  void handle_disconnect(Connection& c, const mqtt::DisconnectPacket& p);
  void send_after_durable(Connection& c, std::string bytes, uint64_t ticket, bool is_puback) {
    acks_.send_after_durable(c, std::move(bytes), ticket, is_puback);
  }
  static ClientIdentity identity_of(const Connection& c);
  // backpressure.cc
  void hold_publisher(Connection& publisher, Session& congested);
  void release_waiters(Session& session, bool force);
  void process_releases();
  // Finds subscribers that hold publishers back without progress (sweep) and frees them.
  void check_stuck_subscribers(int64_t now);
  void on_durable(uint64_t ticket);
  // Closes the connection for breaking the protocol; under MQTT 5 a DISCONNECT with
  // `reason` (0 = none) says why first.
  void protocol_violation(Connection& c, const std::string& why, uint8_t reason);
  // Server-initiated DISCONNECT (MQTT 5 only; 3.1.1 just closes) and close.
  void disconnect(Connection& c, uint8_t reason, const std::string& why);
  // Closes after a packet that tells the client why (server DISCONNECT, CONNACK refusal):
  // the connection lingers (Connection::close_lingering) so a client still sending reads the
  // reason instead of a reset; at shutdown it closes at once.
  void end_after_reason(Connection& c);
  void sweep();
  void flush_dirty();
  void finish_shutdown();
  static void on_check(uv_check_t* handle);
  // sys_topics.cc
  void publish_sys_topics();

  uv_loop_t* loop_;
  BrokerOptions options_;
  Clock* clock_;
  StateStore* store_;
  BrokerStats stats_;

  std::vector<std::unique_ptr<net::Listener>> listeners_;
  std::unordered_map<uint64_t, std::unique_ptr<Connection>> connections_;  // by id
  // Keyed by a view of the session's own client id (stable: sessions live on the heap and
  // never change id), so the id is stored once.
  std::unordered_map<std::string_view, std::unique_ptr<Session>> sessions_;
  WillSchedule wills_;  // wills waiting out their delay
  std::vector<std::unique_ptr<AuthPlugin>> auth_plugins_;
  Router router_;
  AckQueue acks_;
  std::unique_ptr<Authorizer> authorizer_;
  std::unique_ptr<Authenticator> authenticator_;  // null: no basic authentication
  std::unique_ptr<BrokerObserver> observer_;      // null: nobody watches
  LoginThrottle login_throttle_;
  ReservedTopics reserved_;
  std::unique_ptr<ReservedTopicHandler> sys_handler_;
  // A QoS 2 reserved-topic request still running: the ack place its answer fills. Keyed by
  // session (client id, packet id), not connection: a client that reconnects and resends
  // the PUBLISH waits for the same answer on its new connection instead of running it twice.
  struct RunningReserved {
    uint64_t request;  // the first token: names the request its completion belongs to
    uint64_t connection_id;
    uint64_t token;  // the place on `connection_id` that waits for the answer
  };
  std::map<std::pair<std::string, uint16_t>, RunningReserved> reserved_running_;
  // Completions of reserved-topic handlers hold a weak reference: one arriving after the
  // broker is gone does nothing.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);

  std::vector<Connection*> dirty_;
  std::vector<uint64_t> to_release_;  // held publishers to resume at the end of this turn
  // Publishing connections (by id) held back by a congested session; only congested
  // sessions have an entry.
  std::unordered_map<Session*, std::vector<uint64_t>> waiting_publishers_;
  uint64_t next_connection_id_ = 1;
  uint64_t assigned_id_counter_ = 0;

  uv_check_t flush_check_;
  std::unique_ptr<Timer> sweep_timer_;  // keep-alive, connect timeout, expiry, will delay
  std::unique_ptr<Timer> sys_timer_;    // $SYS topics; armed only when sys_interval_s > 0
  int64_t started_ms_ = 0;
  bool shutting_down_ = false;
  bool shut_down_ = false;
  std::function<void()> shutdown_done_;
  int open_handles_ = 0;
};

}  // namespace topicdb::broker
