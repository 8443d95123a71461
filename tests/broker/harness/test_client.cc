#include "tests/broker/harness/test_client.h"

#include <gtest/gtest.h>

#include <type_traits>
#include <utility>
#include <variant>

#include "broker/codec/codec.h"
#include "tests/broker/harness/broker_harness.h"

namespace topicdb::broker::harness {
namespace {

template <typename T>
const T& as(const mqtt::Packet& packet) {
  static const T kEmpty{};
  const T* p = std::get_if<T>(&packet);
  EXPECT_NE(p, nullptr) << "unexpected packet type " << packet.index();
  return p != nullptr ? *p : kEmpty;
}

}  // namespace

mqtt::PacketType Received::type() const {
  static constexpr mqtt::PacketType kByIndex[] = {
      mqtt::PacketType::kConnect,     mqtt::PacketType::kConnack,    mqtt::PacketType::kPublish,
      mqtt::PacketType::kPuback,      mqtt::PacketType::kSubscribe,  mqtt::PacketType::kSuback,
      mqtt::PacketType::kUnsubscribe, mqtt::PacketType::kUnsuback,   mqtt::PacketType::kPingreq,
      mqtt::PacketType::kPingresp,    mqtt::PacketType::kDisconnect, mqtt::PacketType::kAuth};
  if (const auto* a = std::get_if<mqtt::AckPacket>(&packet)) return a->type;
  return kByIndex[packet.index()];
}

const mqtt::PublishPacket& Received::publish() const { return as<mqtt::PublishPacket>(packet); }
const mqtt::AckPacket& Received::ack() const { return as<mqtt::AckPacket>(packet); }
const mqtt::SubackPacket& Received::suback() const { return as<mqtt::SubackPacket>(packet); }
const mqtt::DisconnectPacket& Received::disconnect() const {
  return as<mqtt::DisconnectPacket>(packet);
}

TestClient::TestClient(BrokerHarness* harness, net::MemoryStream* stream,
                       mqtt::ProtocolVersion version, std::string client_id)
    : harness_(harness), stream_(stream), version_(version), client_id_(std::move(client_id)) {}

void TestClient::send(const mqtt::Packet& packet) {
  std::string out;
  std::visit(
      [&](const auto& p) {
        using T = std::decay_t<decltype(p)>;
        if constexpr (std::is_same_v<T, mqtt::ConnectPacket> ||
                      std::is_same_v<T, mqtt::PingreqPacket> ||
                      std::is_same_v<T, mqtt::PingrespPacket> ||
                      std::is_same_v<T, mqtt::AuthPacket>) {
          mqtt::encode(p, &out);
        } else {
          mqtt::encode(p, version_, &out);
        }
      },
      packet);
  send_bytes(out);
}

void TestClient::send_bytes(std::string_view bytes) {
  ASSERT_NE(stream_, nullptr) << "sending on a closed connection";
  stream_->push(bytes);
  harness_->run();
}

uint16_t TestClient::publish(std::string_view topic, std::string_view payload, uint8_t qos,
                             bool retain, const mqtt::Properties& properties) {
  mqtt::PublishPacket p;
  p.topic = topic;
  p.payload = payload;
  p.qos = qos;
  p.retain = retain;
  p.properties = properties;
  if (qos > 0) {
    p.packet_id = next_packet_id_++;
    if (next_packet_id_ == 0) next_packet_id_ = 1;
  }
  send(p);
  return p.packet_id;
}

uint8_t TestClient::subscribe(const std::string& filter, uint8_t qos) {
  mqtt::SubscribePacket s;
  s.packet_id = next_packet_id_++;
  if (next_packet_id_ == 0) next_packet_id_ = 1;
  s.subscriptions.push_back({.filter = filter, .qos = qos});
  send(s);
  std::optional<Received> suback = take(mqtt::PacketType::kSuback);
  if (!suback || suback->suback().reason_codes.size() != 1) return 0xFF;
  EXPECT_EQ(suback->suback().packet_id, s.packet_id);
  return suback->suback().reason_codes[0];
}

void TestClient::disconnect(uint8_t reason_code, const mqtt::Properties& properties) {
  mqtt::DisconnectPacket d;
  d.reason_code = reason_code;
  d.properties = properties;
  send(d);
  if (stream_ != nullptr) drop();
}

void TestClient::drop() {
  ASSERT_NE(stream_, nullptr) << "dropping a closed connection";
  stream_->push_eof();
  harness_->run();
}

std::optional<Received> TestClient::next() {
  harness_->run();
  if (received_.empty()) return std::nullopt;
  Received r = std::move(received_.front());
  received_.pop_front();
  return r;
}

std::vector<Received> TestClient::all() {
  harness_->run();
  std::vector<Received> out;
  while (!received_.empty()) {
    out.push_back(std::move(received_.front()));
    received_.pop_front();
  }
  return out;
}

std::optional<Received> TestClient::take(mqtt::PacketType type) {
  harness_->run();
  for (auto it = received_.begin(); it != received_.end(); ++it) {
    if (it->is(type)) {
      Received r = std::move(*it);
      received_.erase(it);
      return r;
    }
  }
  return std::nullopt;
}

std::vector<Received> TestClient::publishes() {
  harness_->run();
  std::vector<Received> out;
  std::deque<Received> rest;
  for (Received& r : received_) {
    if (r.is(mqtt::PacketType::kPublish)) {
      out.push_back(std::move(r));
    } else {
      rest.push_back(std::move(r));
    }
  }
  received_ = std::move(rest);
  return out;
}

bool TestClient::pump() {
  if (stream_ == nullptr) return false;
  bool progress = false;
  std::string written = stream_->take_written();
  if (!written.empty()) {
    inbox_ += written;
    decode_inbox();
    progress = true;
  }
  if (stream_->write_shut() && stream_->draining()) {
    // The broker shut its side after its last packet (a lingering close): like a real
    // client that reads the end of the stream, this one closes its side too.
    stream_->push_eof();
    progress = true;
  }
  if (stream_->closed()) {
    net::MemoryStream* stream = std::exchange(stream_, nullptr);
    stream->finish_close();  // the broker releases the connection, destroying the stream
    progress = true;
  }
  return progress;
}

void TestClient::decode_inbox() {
  size_t pos = 0;
  while (pos < inbox_.size()) {
    mqtt::FrameHeader header;
    std::string_view rest(inbox_.data() + pos, inbox_.size() - pos);
    Result<mqtt::FrameStatus> status = mqtt::parse_frame_header(rest, 0xFFFFFFFF, &header);
    ASSERT_TRUE(status.is_ok()) << status.status().to_string();
    if (*status == mqtt::FrameStatus::kNeedMore || rest.size() < header.total_size()) break;
    Received r;
    r.wire = std::make_unique<std::string>(rest.substr(0, header.total_size()));
    std::string_view body = std::string_view(*r.wire).substr(header.header_size);
    Result<mqtt::Packet> packet = mqtt::decode_packet(header, body, version_);
    ASSERT_TRUE(packet.is_ok()) << "broker sent a malformed packet: "
                                << packet.status().to_string();
    r.packet = std::move(*packet);
    received_.push_back(std::move(r));
    pos += header.total_size();
  }
  inbox_.erase(0, pos);
}

}  // namespace topicdb::broker::harness
