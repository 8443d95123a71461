// TestClient: one MQTT client of the in-process harness, speaking to the broker over a
// net::MemoryStream. It encodes packets with the codec, pushes them in and decodes what the
// broker wrote; everything is synchronous (the harness runs the loop until idle).
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/codec/packets.h"
#include "net/memory_stream.h"

namespace topicdb::broker::harness {

class BrokerHarness;

// A packet the broker sent. A decoded PUBLISH borrows from the wire bytes, which live on the
// heap beside it, so the packet stays valid however the Received is moved.
struct Received {
  std::unique_ptr<std::string> wire;
  mqtt::Packet packet;

  mqtt::PacketType type() const;
  bool is(mqtt::PacketType t) const { return type() == t; }
  // The packet as its type; the test fails (and gets an empty packet) on another type.
  const mqtt::PublishPacket& publish() const;
  const mqtt::AckPacket& ack() const;
  const mqtt::SubackPacket& suback() const;
  const mqtt::DisconnectPacket& disconnect() const;
};

class TestClient {
 public:
  // Borrows the harness and the stream (owned by the broker's connection).
  TestClient(BrokerHarness* harness, net::MemoryStream* stream, mqtt::ProtocolVersion version,
             std::string client_id);
  TestClient(const TestClient&) = delete;
  TestClient& operator=(const TestClient&) = delete;

  mqtt::ProtocolVersion version() const { return version_; }
  const std::string& client_id() const { return client_id_; }
  // The CONNACK the broker answered the CONNECT with (none if it just closed).
  const std::optional<mqtt::ConnackPacket>& connack() const { return connack_; }
  bool accepted() const { return connack_ && connack_->reason_code == 0; }

  // --- sending: each call runs the loop until idle --------------------------------------
  void send(const mqtt::Packet& packet);
  void send_bytes(std::string_view bytes);
  // PUBLISH with the next free packet id (QoS > 0); returns the id.
  uint16_t publish(std::string_view topic, std::string_view payload, uint8_t qos = 0,
                   bool retain = false, const mqtt::Properties& properties = {});
  // SUBSCRIBE one filter and return the SUBACK's code (0xFF if none came); publishes that
  // follow the SUBACK (retained messages) stay queued for next().
  uint8_t subscribe(const std::string& filter, uint8_t qos = 0);
  void ping() { send(mqtt::PingreqPacket{}); }
  // A clean DISCONNECT, then the client closes its side.
  void disconnect(uint8_t reason_code = 0, const mqtt::Properties& properties = {});
  // The network fails: the stream ends without DISCONNECT.
  void drop();

  // --- receiving -----------------------------------------------------------------------
  // The next packet the broker sent, if any.
  std::optional<Received> next();
  // Every packet the broker sent and the test has not read yet.
  std::vector<Received> all();
  // The first pending packet of `type`, removed from the queue; the others stay.
  std::optional<Received> take(mqtt::PacketType type);
  // The pending PUBLISHes, removed from the queue; other packets stay. Nothing is
  // acknowledged: the test does that.
  std::vector<Received> publishes();

  // The broker closed the connection (or it was dropped) and the stream is gone.
  bool closed() const { return stream_ == nullptr; }

  // --- for the harness ------------------------------------------------------------------
  // Moves what the broker wrote into the inbox and finishes a close the broker started.
  // Returns whether anything happened.
  bool pump();
  void set_connack(mqtt::ConnackPacket connack) { connack_ = std::move(connack); }

 private:
  void decode_inbox();

  BrokerHarness* harness_;
  net::MemoryStream* stream_;  // null once closed (the broker destroyed it)
  mqtt::ProtocolVersion version_;
  std::string client_id_;
  std::optional<mqtt::ConnackPacket> connack_;
  std::string inbox_;  // bytes not yet decoded
  std::deque<Received> received_;
  uint16_t next_packet_id_ = 1;
};

}  // namespace topicdb::broker::harness
