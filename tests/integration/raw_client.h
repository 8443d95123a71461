// A tiny blocking TCP client for 127.0.0.1 that sends hand-built bytes and reads MQTT
// packets, with a timeout on every wait.
#ifndef TOPICDB_TESTS_INTEGRATION_RAW_CLIENT_H_
#define TOPICDB_TESTS_INTEGRATION_RAW_CLIENT_H_

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "tests/integration/mqtt_packets.h"

namespace topicdb::itest {

using std::chrono::milliseconds;

class RawClient {
 public:
  RawClient() = default;
  ~RawClient();
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  // TCP connect to 127.0.0.1:port.
  ::testing::AssertionResult connect(uint16_t port, milliseconds timeout = milliseconds(3000));
  // Sends all bytes (MSG_NOSIGNAL). Fails when the peer has closed the connection.
  ::testing::AssertionResult send(const Bytes& bytes);

  // Reads exactly n bytes; nullopt on timeout or when the peer closed first.
  std::optional<Bytes> recv_exact(size_t n, milliseconds timeout);
  // Reads one complete MQTT packet; nullopt on timeout, close, or a malformed length.
  std::optional<Packet> recv_packet(milliseconds timeout = milliseconds(3000));
  // Reads packets until one of `type` arrives (others are skipped and recorded in
  // skipped()); nullopt on timeout/close.
  std::optional<Packet> recv_packet_of_type(uint8_t type,
                                            milliseconds timeout = milliseconds(3000));
  // Reads and discards everything until the peer closes (EOF or reset). Returns true when
  // the peer closed within the timeout.
  bool wait_closed(milliseconds timeout);
  // True once EOF / reset has been observed.
  bool peer_closed() const { return peer_closed_; }

  // Sends CONNECT and expects a CONNACK with return code 0. Optionally reports the session
  // present flag.
  ::testing::AssertionResult mqtt_connect(uint16_t port, const ConnectSpec& spec,
                                          bool* session_present = nullptr);
  // Sends SUBSCRIBE and waits for the matching SUBACK; checks the granted QoS list when
  // `expected_granted` is non-empty.
  ::testing::AssertionResult mqtt_subscribe(
      uint16_t packet_id, const std::vector<std::pair<std::string, uint8_t>>& filters,
      const std::vector<uint8_t>& expected_granted = {});

  // Sends PINGREQ and expects the next packet to be a PINGRESP.
  ::testing::AssertionResult mqtt_ping(milliseconds timeout = milliseconds(3000));

  // Closes the socket without sending DISCONNECT (the "abnormal" close).
  void close();
  // Makes the next close() send a TCP reset instead of a FIN (SO_LINGER with timeout 0).
  void abort_with_reset();
  bool is_open() const { return fd_ >= 0; }
  // Packets skipped by recv_packet_of_type.
  const std::vector<Packet>& skipped() const { return skipped_; }

 private:
  // Fills the buffer with whatever is available within the timeout. Returns false on
  // timeout or close.
  bool fill(std::chrono::steady_clock::time_point deadline);

  int fd_ = -1;
  Bytes buffer_;
  bool peer_closed_ = false;
  std::vector<Packet> skipped_;
};

}  // namespace topicdb::itest

#endif  // TOPICDB_TESTS_INTEGRATION_RAW_CLIENT_H_
