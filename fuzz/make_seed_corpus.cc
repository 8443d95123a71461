// Writes the seed corpus of every fuzz target (fuzz/corpus/<target>/) from the codec tests'
// sample packets (tests/broker/codec/sample_packets.h), encoded by the codec's encoder and
// laid out as each target reads its input (fuzz/fuzz_input.h).
// Usage: topicdb_fuzz_seed_corpus DIR   (replaces DIR/<target>/ for each target)
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "broker/codec/codec.h"
#include "broker/codec/encode_any.h"
#include "broker/codec/property_codec.h"
#include "broker/codec/wire.h"
#include "fuzz/fuzz_input.h"
#include "tests/broker/codec/sample_packets.h"

namespace topicdb::mqtt::fuzz {
namespace {

namespace fs = std::filesystem;

// One seed file per call: DIR/<target>/<name>.
class CorpusWriter {
 public:
  explicit CorpusWriter(fs::path dir) : dir_(std::move(dir)) {}

  void add(const std::string& target, const std::string& name, uint8_t selector,
           std::string_view bytes) {
    std::string content(1, static_cast<char>(selector));
    content.append(bytes);
    add_raw(target, name, content);
  }
  void add_raw(const std::string& target, const std::string& name, std::string_view bytes) {
    if (cleared_[target]++ == 0) {
      fs::remove_all(dir_ / target);
      fs::create_directories(dir_ / target);
    }
    std::ofstream(dir_ / target / name, std::ios::binary)
        .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  size_t files() const {
    size_t n = 0;
    for (const auto& [target, count] : cleared_) n += count;
    return n;
  }

 private:
  fs::path dir_;
  std::map<std::string, size_t> cleared_;  // files written per target
};

std::string type_name(PacketType t) {
  static const char* const kNames[] = {"reserved",  "connect",  "connack",     "publish",
                                       "puback",    "pubrec",   "pubrel",      "pubcomp",
                                       "subscribe", "suback",   "unsubscribe", "unsuback",
                                       "pingreq",   "pingresp", "disconnect",  "auth"};
  return kNames[static_cast<uint8_t>(t)];
}

PropertyContext context_of(PacketType t) {
  switch (t) {
    case PacketType::kConnect:
      return PropertyContext::kConnect;
    case PacketType::kConnack:
      return PropertyContext::kConnack;
    case PacketType::kPublish:
      return PropertyContext::kPublish;
    case PacketType::kSubscribe:
      return PropertyContext::kSubscribe;
    case PacketType::kSuback:
      return PropertyContext::kSuback;
    case PacketType::kUnsubscribe:
      return PropertyContext::kUnsubscribe;
    case PacketType::kUnsuback:
      return PropertyContext::kUnsuback;
    case PacketType::kDisconnect:
      return PropertyContext::kDisconnect;
    case PacketType::kAuth:
      return PropertyContext::kAuth;
    default:
      return PropertyContext::kPubAck;
  }
}

template <size_t N>
uint8_t index_in(const std::array<PacketType, N>& family, PacketType t) {
  for (size_t i = 0; i < N; ++i) {
    if (family[i] == t) return static_cast<uint8_t>(i);
  }
  return 0xFF;
}

// MQTT 3.1's CONNECT from a 3.1.1 one: protocol name "MQIsdp" and level 3 instead of "MQTT"
// and 4 (MQTT 3.1 §3.1); the encoder speaks 3.1.1 and 5 only.
std::string as_mqtt31_connect(std::string_view body) {
  std::string out;
  put_prefixed("MQIsdp", &out);
  put_u8(kMqtt31Level, &out);
  out.append(body.substr(7));  // after 00 04 'M' 'Q' 'T' 'T' 04
  return out;
}

std::string framed(uint8_t first_byte, std::string_view body) {
  std::string out;
  put_u8(first_byte, &out);
  put_varint(static_cast<uint32_t>(body.size()), &out);
  out.append(body);
  return out;
}

// Adds every seed of one packet, encoded in protocol `level` as `wire`.
void add_packet(CorpusWriter& w, uint8_t level, const std::string& name, const std::string& wire) {
  FrameHeader h;
  if (!parse_frame_header(wire, 0xFFFFFFFF, &h).is_ok()) return;
  const std::string_view body = std::string_view(wire).substr(h.header_size);
  const PacketType t = h.type();
  w.add_raw("frame_header", name, wire);
  w.add("packet_stream", name, selector_for(level, 0), wire);
  if (t == PacketType::kConnect) {
    w.add("connect", name, selector_for(level, 0), body);
  } else if (t == PacketType::kPublish) {
    w.add("publish", name, selector_for(level, h.flags()), body);
  } else if (uint8_t i = index_in(kSubscribeFamily, t); i != 0xFF) {
    w.add("subscribe", name, selector_for(level, i), body);
  } else {
    w.add("ack", name, selector_for(level, index_in(kAckFamily, t)), body);
  }
}

int run(const fs::path& dir) {
  CorpusWriter w(dir);
  for (ProtocolVersion v : {ProtocolVersion::kV311, ProtocolVersion::kV5}) {
    const auto level = static_cast<uint8_t>(v);
    std::string session;  // every sample packet in one stream, as a connection sees them
    std::map<std::string, int> seen;
    for (const Packet& packet : codec_test::sample_packets(v)) {
      std::string wire;
      encode_any(packet, v, &wire);
      FrameHeader h;
      if (!parse_frame_header(wire, 0xFFFFFFFF, &h).is_ok() ||
          !decode_packet(h, std::string_view(wire).substr(h.header_size), v).is_ok()) {
        std::fprintf(stderr, "a sample packet does not decode in level %d\n", level);
        return 1;
      }
      const std::string kind = type_name(h.type());
      const std::string name =
          "v" + std::to_string(level) + "-" + kind + "-" + std::to_string(seen[kind]++);
      add_packet(w, level, name, wire);
      session += wire;
      // The packet under 3.1, whose layout is 3.1.1's but for CONNECT's name and level.
      if (v == ProtocolVersion::kV311) {
        std::string wire31 = wire;
        if (h.type() == PacketType::kConnect) {
          wire31 =
              framed(h.first_byte, as_mqtt31_connect(std::string_view(wire).substr(h.header_size)));
        }
        add_packet(w, kMqtt31Level, "v3-" + kind + "-" + std::to_string(seen[kind] - 1), wire31);
      }
      std::visit(
          [&](const auto& p) {
            using T = std::decay_t<decltype(p)>;
            if constexpr (!std::is_same_v<T, PingreqPacket> && !std::is_same_v<T, PingrespPacket>) {
              if (v != ProtocolVersion::kV5 || p.properties.empty()) return;
              std::string block;
              encode_properties(p.properties, &block);
              w.add("properties", name, static_cast<uint8_t>(context_of(h.type())), block);
              if constexpr (std::is_same_v<T, ConnectPacket>) {
                if (p.will && !p.will->properties.empty()) {
                  block.clear();
                  encode_properties(p.will->properties, &block);
                  w.add("properties", name + "-will", static_cast<uint8_t>(PropertyContext::kWill),
                        block);
                }
              }
            }
          },
          packet);
    }
    w.add("packet_stream", "v" + std::to_string(level) + "-session", selector_for(level, 0),
          session);
  }
  std::printf("wrote %zu seed files under %s\n", w.files(), dir.c_str());
  return 0;
}

}  // namespace
}  // namespace topicdb::mqtt::fuzz

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
    return 2;
  }
  return topicdb::mqtt::fuzz::run(argv[1]);
}
