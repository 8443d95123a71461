// Connection: one MQTT client on the loop thread, over a net::Stream it owns. Splits incoming
// bytes into MQTT packets (no copy unless a packet spans reads), holds publishes under
// back-pressure, and keeps the per-connection MQTT state. Protocol logic lives in the owner
// (the Broker), reached through ConnectionOwner.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "broker/auth_plugin.h"
#include "broker/codec/packets.h"
#include "broker/connection_owner.h"
#include "net/out_buffer.h"
#include "net/stream.h"

namespace topicdb::broker {

class Session;
using net::OutBuffer;
using net::SharedBytes;

class Connection final : public net::StreamOwner {
 public:
  enum class State : uint8_t { kAwaitingConnect, kConnected, kClosing, kClosed };

  // Takes the stream (not yet reading) and becomes its owner.
  Connection(ConnectionOwner* owner, uint64_t id, int64_t now_ms,
             std::unique_ptr<net::Stream> stream);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Starts reading, and reads at once what the client already sent (its CONNECT, usually)
  // without waiting for the next poll. Closes the connection if the stream cannot read.
  void start();

  uint64_t id() const { return id_; }
  State state() const { return state_; }
  bool is_open() const { return state_ == State::kAwaitingConnect || state_ == State::kConnected; }
  // "host:port" of the client, read from the socket (not stored: idle connections are kept
  // small); "?" once the socket is gone.
  std::string peer() const { return stream_->peer(); }
  // The user name the transport established (TLS client certificate CN), if any.
  std::optional<std::string> transport_username() const { return stream_->transport_username(); }

  // Queues one whole packet for the next flush (end of this loop turn). A packet larger than
  // the client's Maximum Packet Size is not sent: the connection is closed at the flush
  // instead (MQTT-3.1.2-24; senders first shrink what they can, see packet_fit.h).
  void send(std::string_view bytes);
  void send_shared(SharedBytes bytes);
  // Direct access for encoders that append in place; call mark_dirty() after. Allocated on
  // demand and released by flush(), so an idle connection holds no output buffer.
  OutBuffer& out() { return stream_->out(); }
  void mark_dirty();
  // Writes everything queued in one gathered write.
  void flush();
  size_t queued_bytes() const { return stream_->queued_bytes(); }

  // Starts closing. With flush, queued bytes (a CONNACK with an error, a DISCONNECT) are
  // written first. The owner hears of it once through on_connection_closing, and destroys
  // the object in release_connection once the stream is closed.
  void close(bool flush_first);
  // Closes after a packet that tells the client why (a server DISCONNECT, a CONNACK
  // refusal): no more packets are processed, the queued bytes are written, the write side is
  // shut down, and what the client still sends is read and discarded until it closes, so a
  // client busy writing reads the reason instead of dying on a reset. The owner bounds the
  // linger (Broker::sweep aborts it). Counts as closing like close().
  void close_lingering();
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
  static constexpr size_t kMaxHeldBytes = 256 * 1024;

  // Ends a close_lingering() now: closes once the queued bytes are written. No-op otherwise.
  void end_linger() {
    if (state_ == State::kClosing) stream_->close(true);
  }
  // Closes the stream now, dropping unwritten bytes (a close that could not finish).
  void abort() { stream_->abort(); }

  // --- MQTT state set by the Broker -----------------------------------------------------
  void set_connected(int64_t now_ms) {
    state_ = State::kConnected;
    since_ms = now_ms;
  }
  // Fields are grouped by size and flags are bits: an idle connection's footprint is a
  // benchmark target (its Connection must stay within a 112-byte allocation).
  //
  // What the state's deadline counts from: the time the connection was opened (awaiting
  // CONNECT: connect timeout), the last byte received (connected: keep alive), or the time
  // it started closing (close grace). One field serves all three; each state needs one.
  int64_t since_ms = 0;
  Session* session = nullptr;  // borrowed; set after CONNECT
  // The congested session this connection waits for (Broker::hold_publisher), or null.
  Session* blocked_by = nullptr;

  // The CONNECT's user name (for authorization and reserved-topic handlers) and will, in one
  // allocation that only clients with either pay for.
  const std::string* username() const {
    return details_ && details_->has_username ? &details_->username : nullptr;
  }
  void set_username(std::string name);
  mqtt::Will* will() const { return details_ ? details_->will.get() : nullptr; }
  void set_will(std::unique_ptr<mqtt::Will> will);
  // Removes the will (a normal DISCONNECT discards it; a will that fires is taken).
  std::unique_ptr<mqtt::Will> take_will() {
    return details_ ? std::move(details_->will) : std::unique_ptr<mqtt::Will>();
  }

  // QoS 1 PUBACKs waiting for the store or a handler (AckQueue): they count against our
  // Receive Maximum (at most 65,535) until sent.
  uint16_t deferred_pubacks = 0;
  // --- MQTT 5 limits the client declared in CONNECT, and per-connection alias maps ---
  uint16_t client_topic_alias_max = 0;  // aliases we may use towards the client
  uint32_t client_max_packet_size = 0;  // 0 = no limit declared
  uint16_t keep_alive_s = 0;
  mqtt::ProtocolVersion version = mqtt::ProtocolVersion::kV311;
  uint8_t transport = 0;  // the Transport (broker_stats.h) of the listener it came in on
  bool request_problem_information : 1 = true;
  bool clean_disconnect : 1 = false;    // DISCONNECT received
  bool client_id_assigned : 1 = false;  // MQTT 5: we chose the id, CONNACK tells the client

 private:
  // Declared here, beside the public fields above, so all of them share one 16-byte run.
  State state_ = State::kAwaitingConnect;
  bool publishes_held_ : 1 = false;
  bool draining_ : 1 = false;  // the peer closed: held packets are processed regardless
  bool reading_stopped_ : 1 = false;
  bool dirty_ : 1 = false;
  bool oversized_send_ : 1 = false;  // a packet over the client's limit was refused: close

 public:
  // Topic alias maps (MQTT 5 §3.3.2.3.4), allocated when a client first uses aliases so an
  // idle connection does not pay for them.
  struct AliasMaps {
    std::vector<std::string> inbound;                    // alias N at index N-1 (client → broker)
    std::unordered_map<std::string, uint16_t> outbound;  // broker → client
  };
  AliasMaps& aliases() { return extras().aliases; }
  // Enhanced authentication (MQTT 5 §4.12), allocated only for clients that use it.
  struct AuthState {
    std::unique_ptr<mqtt::ConnectPacket> pending_connect;  // CONNECT held during the exchange
    std::string method;
    std::unique_ptr<AuthExchange> exchange;  // the exchange under way, if any
    // A failed basic login (handle_login.cc) whose CONNACK refusal waits out its delay.
    std::unique_ptr<Timer> refusal_timer;
  };
  AuthState& auth() { return extras().auth; }
  bool authenticating() const { return extras_ && extras_->auth.pending_connect; }
  bool uses_enhanced_auth() const { return extras_ && !extras_->auth.method.empty(); }

 private:
  // net::StreamOwner
  void on_stream_data(std::string_view bytes) override;
  void on_stream_written(size_t bytes) override;
  void on_stream_end(End why) override;
  void on_stream_closed() override;

  // Parses and dispatches every whole packet at the start of `data`; returns bytes consumed.
  size_t dispatch_packets(const char* data, size_t len, uint32_t max_packet_size);
  bool must_hold(mqtt::PacketType type) const;
  void drain_held();
  // Alias maps and authentication state share one allocation: few clients use either, and
  // one pointer less keeps an idle connection within its allocation size class.
  struct Extras {
    AliasMaps aliases;
    AuthState auth;
  };
  Extras& extras() {
    if (!extras_) extras_ = std::make_unique<Extras>();
    return *extras_;
  }
  struct Details {
    std::string username;
    bool has_username = false;
    std::unique_ptr<mqtt::Will> will;
  };
  Details& details() {
    if (!details_) details_ = std::make_unique<Details>();
    return *details_;
  }

  ConnectionOwner* owner_;
  uint64_t id_;
  std::unique_ptr<net::Stream> stream_;
  // Bytes of a packet split across reads; null when idle. One up to this long is joined
  // with the next read in a recycled buffer of the loop (on_stream_data).
  static constexpr size_t kMaxJoinedPartial = 4096;
  std::unique_ptr<std::string> partial_;
  std::unique_ptr<Extras> extras_;
  std::unique_ptr<Details> details_;
  // Whole frames received while publishes are held, in order; null when none.
  std::unique_ptr<std::string> held_;
};

}  // namespace topicdb::broker
