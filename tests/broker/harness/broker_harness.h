// BrokerHarness: a whole Broker in a unit test, without sockets or sleeps. It owns a uv loop
// (only the broker's flush handle lives on it), a ManualClock, a MemoryStateStore and the
// loop's buffers; clients talk over MemoryStreams. Everything is synchronous: each action
// runs the loop until idle, and time moves only through advance().
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <uv.h>

#include "base/manual_clock.h"
#include "broker/broker.h"
#include "broker/broker_options.h"
#include "broker/persist/memory_state_store.h"
#include "net/loop_buffers.h"
#include "tests/broker/harness/test_client.h"

namespace topicdb::broker::harness {

// What a test client puts in its CONNECT.
struct ConnectOptions {
  mqtt::ProtocolVersion version = mqtt::ProtocolVersion::kV5;
  std::string client_id;
  bool clean_start = true;
  uint16_t keep_alive_s = 0;
  std::optional<mqtt::Will> will;
  std::optional<std::string> username;
  std::optional<std::string> password;
  mqtt::Properties properties;
  // Set: the stream vouches for this user, as TLS does under --tls-cert-as-username.
  std::optional<std::string> transport_username;
};

// The options the harness builds its broker with: $SYS is off so subscribers see only
// what the test publishes.
BrokerOptions harness_options();

class BrokerHarness {
 public:
  explicit BrokerHarness(BrokerOptions options = harness_options());
  // Shuts the broker down cleanly and checks the loop closes with nothing left on it.
  ~BrokerHarness();
  BrokerHarness(const BrokerHarness&) = delete;
  BrokerHarness& operator=(const BrokerHarness&) = delete;

  Broker& broker() { return *broker_; }
  ManualClock& clock() { return clock_; }
  MemoryStateStore& store() { return store_; }

  // A client over a new MemoryStream: sends CONNECT and returns once the broker answered
  // (CONNACK, or a close). The harness owns the client.
  TestClient& connect(const ConnectOptions& options);
  // Shorthand: a v5 (or 3.1.1) client with clean start and no keep alive.
  TestClient& connect(const std::string& client_id,
                      mqtt::ProtocolVersion version = mqtt::ProtocolVersion::kV5);

  // Turns the loop and the clients' streams until nothing more happens.
  void run();
  // Moves the clock by `ms` (firing the broker's timers on the way), then runs.
  void advance(int64_t ms);

 private:
  uv_loop_t loop_;
  ManualClock clock_;
  MemoryStateStore store_;
  std::unique_ptr<net::LoopBuffers> buffers_;
  std::unique_ptr<Broker> broker_;
  std::vector<std::unique_ptr<TestClient>> clients_;
};

}  // namespace topicdb::broker::harness
