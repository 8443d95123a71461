// Connection: one client's TCP connection on the loop thread. Owns the libuv handle, splits
// incoming bytes into MQTT packets (no copy unless a packet spans reads), and gathers
// outgoing packets into one write per loop turn. Protocol logic lives in the Broker.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <uv.h>

#include "broker/auth_plugin.h"
#include "broker/codec/packets.h"
#include "broker/out_buffer.h"

namespace topicdb::broker {

class Broker;
class Session;

class Connection {
 public:
  enum class State : uint8_t { kAwaitingConnect, kConnected, kClosing, kClosed };

  Connection(Broker* broker, uint64_t id, int64_t now_ms);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Accepts a pending connection from `server` and starts reading. Non-zero on failure
  // (the handle is then already being closed).
  int accept_from(uv_stream_t* server);
  // Reads what the client already sent (its CONNECT, usually) without waiting for epoll.
  void read_now();

  uint64_t id() const { return id_; }
  State state() const { return state_; }
  bool is_open() const { return state_ == State::kAwaitingConnect || state_ == State::kConnected; }
  // "host:port" of the client, read from the socket (not stored: idle connections are kept
  // small); "?" once the socket is gone.
  std::string peer() const;

  // Queues bytes for the next flush (end of this loop turn).
  void send(std::string_view bytes);
  void send_shared(SharedBytes bytes);
  // Direct access for encoders that append in place; call mark_dirty() after. Allocated on
  // demand and released by flush(), so an idle connection holds no output buffer.
  OutBuffer& out() {
    if (!out_) new_out_buffer();
    return *out_;
  }
  void mark_dirty();
  // Writes everything queued: uv_try_write first, uv_write for what the socket did not take.
  void flush();
  size_t queued_bytes() const { return (out_ ? out_->size() : 0) + bytes_in_write_; }

  // Starts closing. With flush, queued bytes (a CONNACK with an error, a DISCONNECT) are
  // written first. The Broker hears of it once through Broker::on_connection_closing; the
  // object is destroyed after libuv's close callback.
  void close(bool flush_first);
  // Back-pressure (Broker::hold_publisher): while held, PUBLISH packets and everything that
  // must stay ordered after them are kept, in order, instead of processed; acks and pings
  // still are, so two clients publishing to each other cannot block on each other's acks.
  // Past kMaxHeldBytes the socket is no longer read at all.
  void hold_publishes() {
    if (!draining_) publishes_held_ = true;
  }
  void release_publishes();
  bool publishes_held() const { return publishes_held_; }
  bool reading_stopped() const { return reading_stopped_; }
  Session* blocked_by = nullptr;  // the congested session this connection waits for
  static constexpr size_t kMaxHeldBytes = 256 * 1024;

  // Closes the handle now, dropping unwritten bytes (a close that could not finish).
  void abort() { close_handle(); }

  // --- MQTT state set by the Broker -----------------------------------------------------
  void set_connected() { state_ = State::kConnected; }
  // Fields are grouped by size: an idle connection's footprint is a benchmark target.
  int64_t last_received_ms = 0;
  int64_t state_since_ms = 0;        // when it was opened, or when it started closing
  Session* session = nullptr;        // borrowed; set after CONNECT
  std::unique_ptr<mqtt::Will> will;  // cleared by a normal DISCONNECT
  // The CONNECT's user name, for authorization and reserved-topic handlers; null if none.
  std::unique_ptr<const std::string> username;
  // QoS 1 PUBACKs waiting for the store (Broker::send_after_durable): they count against
  // our Receive Maximum until sent.
  uint32_t deferred_pubacks = 0;

  // --- MQTT 5 limits the client declared in CONNECT, and per-connection alias maps ---
  uint32_t client_max_packet_size = 0;  // 0 = no limit declared
  uint16_t client_topic_alias_max = 0;  // aliases we may use towards the client
  uint16_t keep_alive_s = 0;
  mqtt::ProtocolVersion version = mqtt::ProtocolVersion::kV311;
  bool request_problem_information = true;
  bool clean_disconnect = false;    // DISCONNECT received
  bool client_id_assigned = false;  // MQTT 5: we chose the id, CONNACK tells the client
  // Topic alias maps (MQTT 5 §3.3.2.3.4), allocated when a client first uses aliases so an
  // idle connection does not pay for them.
  struct AliasMaps {
    std::vector<std::string> inbound;                    // alias N at index N-1 (client → broker)
    std::unordered_map<std::string, uint16_t> outbound;  // broker → client
  };
  AliasMaps& aliases() {
    if (!aliases_) aliases_ = std::make_unique<AliasMaps>();
    return *aliases_;
  }
  // Enhanced authentication (MQTT 5 §4.12), allocated only for clients that use it.
  struct AuthState {
    std::unique_ptr<mqtt::ConnectPacket> pending_connect;  // CONNECT held during the exchange
    std::string method;
    std::unique_ptr<AuthExchange> exchange;  // the exchange under way, if any
  };
  AuthState& auth() {
    if (!auth_) auth_ = std::make_unique<AuthState>();
    return *auth_;
  }
  bool authenticating() const { return auth_ && auth_->pending_connect; }
  bool uses_enhanced_auth() const { return auth_ && !auth_->method.empty(); }

 private:
  struct WriteRequest;
  static void on_alloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf);
  static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
  static void on_write(uv_write_t* req, int status);
  static void on_shutdown(uv_shutdown_t* req, int status);
  static void on_close(uv_handle_t* handle);

  void handle_bytes(const char* data, size_t len);
  // Parses and dispatches every whole packet at the start of `data`; returns bytes consumed.
  size_t dispatch_packets(const char* data, size_t len);
  bool must_hold(mqtt::PacketType type) const;
  void drain_held();
  void close_handle();
  void new_out_buffer();

  Broker* broker_;
  uint64_t id_;
  uv_tcp_t handle_;
  // Bytes of a packet split across reads; null when idle.
  std::unique_ptr<std::string> partial_;
  std::unique_ptr<OutBuffer> out_;
  std::unique_ptr<AliasMaps> aliases_;
  std::unique_ptr<AuthState> auth_;
  // Whole frames received while publishes are held, in order; null when none.
  std::unique_ptr<std::string> held_;
  size_t bytes_in_write_ = 0;
  State state_ = State::kAwaitingConnect;
  bool publishes_held_ = false;
  bool draining_ = false;  // the peer closed: held packets are processed regardless
  bool reading_stopped_ = false;
  bool dirty_ = false;
  bool handle_open_ = false;
};

}  // namespace topicdb::broker
