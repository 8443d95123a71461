// Micro benchmarks of the MQTT codec: PUBLISH decode and encode (3.1.1 and 5) and framing.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>

#include "broker/codec/codec.h"

namespace topicdb::mqtt {
namespace {

constexpr uint32_t kMaxPacketSize = 1 << 20;

// A PUBLISH as a sensor would send it: a four-level topic and a 64-byte payload.
PublishPacket sample_publish(ProtocolVersion v, uint8_t qos, const std::string& payload) {
  PublishPacket p;
  p.topic = "sensors/site-7/device-0042/temperature";
  p.payload = payload;
  p.qos = qos;
  p.packet_id = qos > 0 ? 4242 : 0;
  if (v == ProtocolVersion::kV5) {
    p.properties.user_properties.emplace_back("trace-id", "4bf92f3577b34da6a3ce929d0e0e4736");
    p.properties.content_type = "application/json";
    p.properties.message_expiry_interval = 3600;
  }
  return p;
}

void decode_publish(benchmark::State& state, ProtocolVersion v) {
  const std::string payload(64, 'x');
  std::string wire;
  encode(sample_publish(v, 1, payload), v, &wire);
  FrameHeader header;
  auto parsed = parse_frame_header(wire, kMaxPacketSize, &header);
  if (!parsed.is_ok() || *parsed != FrameStatus::kComplete) {
    state.SkipWithError("could not frame the sample PUBLISH");
    return;
  }
  const std::string_view body = std::string_view(wire).substr(header.header_size);
  for (auto _ : state) {
    auto packet = decode_packet(header, body, v);
    if (!packet.is_ok()) {
      state.SkipWithError("decode failed");
      return;
    }
    benchmark::DoNotOptimize(std::get<PublishPacket>(*packet).payload.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * wire.size()));
}

void BM_DecodePublishV311(benchmark::State& state) {
  decode_publish(state, ProtocolVersion::kV311);
}
void BM_DecodePublishV5(benchmark::State& state) { decode_publish(state, ProtocolVersion::kV5); }

void encode_publish(benchmark::State& state, ProtocolVersion v) {
  const std::string payload(64, 'x');
  const PublishPacket p = sample_publish(v, 1, payload);
  std::string out;
  out.reserve(512);
  for (auto _ : state) {
    out.clear();
    encode(p, v, &out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * out.size()));
}

void BM_EncodePublishV311(benchmark::State& state) {
  encode_publish(state, ProtocolVersion::kV311);
}
void BM_EncodePublishV5(benchmark::State& state) { encode_publish(state, ProtocolVersion::kV5); }

// The header-only encoder the broker uses to share one payload among many subscribers.
void BM_EncodePublishHeaderV311(benchmark::State& state) {
  const std::string payload(64, 'x');
  const PublishPacket p = sample_publish(ProtocolVersion::kV311, 1, payload);
  std::string out;
  out.reserve(512);
  for (auto _ : state) {
    out.clear();
    encode_publish_header(p, ProtocolVersion::kV311, &out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

// Fixed headers with 1-, 2- and 3-byte remaining lengths (64 B, 1 KiB and 64 KiB bodies).
void BM_ParseFrameHeader(benchmark::State& state) {
  const auto body_size = static_cast<size_t>(state.range(0));
  const std::string payload(body_size, 'x');
  std::string wire;
  encode(sample_publish(ProtocolVersion::kV311, 0, payload), ProtocolVersion::kV311, &wire);
  const std::string_view head = std::string_view(wire).substr(0, 8);
  FrameHeader header;
  for (auto _ : state) {
    auto status = parse_frame_header(head, kMaxPacketSize, &header);
    benchmark::DoNotOptimize(status.is_ok());
    benchmark::DoNotOptimize(header.remaining_length);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

BENCHMARK(BM_DecodePublishV311);
BENCHMARK(BM_DecodePublishV5);
BENCHMARK(BM_EncodePublishV311);
BENCHMARK(BM_EncodePublishV5);
BENCHMARK(BM_EncodePublishHeaderV311);
BENCHMARK(BM_ParseFrameHeader)->Arg(64)->Arg(1024)->Arg(65536);

}  // namespace
}  // namespace topicdb::mqtt
