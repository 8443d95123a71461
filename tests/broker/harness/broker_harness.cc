#include "tests/broker/harness/broker_harness.h"

#include <gtest/gtest.h>

#include <utility>

namespace topicdb::broker::harness {

BrokerOptions harness_options() {
  BrokerOptions options;
  options.sys_interval_s = 0;
  return options;
}

BrokerHarness::BrokerHarness(BrokerOptions options) {
  uv_loop_init(&loop_);
  buffers_ = std::make_unique<net::LoopBuffers>(&loop_);
  broker_ = std::make_unique<Broker>(&loop_, options, &clock_, &store_);
}

BrokerHarness::~BrokerHarness() {
  bool done = false;
  broker_->shutdown([&done] { done = true; });
  run();
  EXPECT_TRUE(done) << "shutdown did not finish";
  EXPECT_TRUE(broker_->is_shut_down());
  broker_.reset();
  uv_run(&loop_, UV_RUN_NOWAIT);  // close callbacks of what the broker closed
  for (const auto& client : clients_) EXPECT_TRUE(client->closed());
  buffers_.reset();
  EXPECT_EQ(uv_loop_close(&loop_), 0) << "handles left on the loop";
}

TestClient& BrokerHarness::connect(const ConnectOptions& options) {
  auto stream = std::make_unique<net::MemoryStream>(
      buffers_.get(), "memory:" + std::to_string(clients_.size() + 1));
  net::MemoryStream* raw = stream.get();
  if (options.transport_username) raw->set_transport_username(*options.transport_username);
  clients_.push_back(std::make_unique<TestClient>(this, raw, options.version, options.client_id));
  TestClient& client = *clients_.back();
  broker_->adopt(std::move(stream));

  mqtt::ConnectPacket connect;
  connect.version = options.version;
  connect.protocol_level = static_cast<uint8_t>(options.version);
  connect.clean_start = options.clean_start;
  connect.keep_alive = options.keep_alive_s;
  connect.client_id = options.client_id;
  connect.will = options.will;
  connect.username = options.username;
  connect.password = options.password;
  connect.properties = options.properties;
  client.send(connect);
  if (std::optional<Received> connack = client.take(mqtt::PacketType::kConnack)) {
    client.set_connack(std::get<mqtt::ConnackPacket>(connack->packet));
  }
  return client;
}

TestClient& BrokerHarness::connect(const std::string& client_id, mqtt::ProtocolVersion version) {
  ConnectOptions options;
  options.client_id = client_id;
  options.version = version;
  return connect(options);
}

void BrokerHarness::run() {
  // A pump can release a connection, whose will or session end gives other connections
  // bytes to flush on the next turn: repeat until a turn changes nothing.
  for (int turn = 0; turn < 10000; ++turn) {
    uv_run(&loop_, UV_RUN_NOWAIT);
    bool progress = false;
    for (size_t i = 0; i < clients_.size(); ++i) progress |= clients_[i]->pump();
    if (!progress) return;
  }
  ADD_FAILURE() << "the harness loop did not settle";
}

void BrokerHarness::advance(int64_t ms) {
  clock_.advance_ms(ms);
  run();
}

}  // namespace topicdb::broker::harness
