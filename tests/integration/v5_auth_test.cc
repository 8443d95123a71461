// MQTT 5 enhanced authentication (MQTT 5 §4.12) against the real binary: the
// TOPICDB-HMAC-SHA256 exchange at CONNECT and at re-authentication, refusals, and brokers
// without the plugin. Packets are built and read with the broker's own codec over a raw TCP
// socket, since no client library here speaks this method.
#include <gtest/gtest.h>

#include <bit>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "broker/codec/codec.h"
#include "tests/integration/fixture.h"
#include "tests/integration/raw_client.h"

namespace topicdb::itest {
namespace {

using std::chrono::milliseconds;

constexpr char kMethod[] = "TOPICDB-HMAC-SHA256";
constexpr char kSecret[] = "integration-shared-secret";
constexpr milliseconds kWait(3000);

// --- An independent HMAC-SHA256 (FIPS 180-4, RFC 2104) -----------------------------------
// The test checks the broker's proofs against its own implementation, not the plugin's,
// so a wire-format mistake shared by both sides cannot pass unnoticed.

std::string sha256(std::string_view message) {
  static constexpr uint32_t kK[64] = {
      0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
      0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
      0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
      0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
      0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
      0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
      0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
      0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
      0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
      0xc67178f2};
  uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  std::string m(message);
  const uint64_t bits = uint64_t{message.size()} * 8;
  m += '\x80';
  while (m.size() % 64 != 56) m += '\0';
  for (int i = 7; i >= 0; --i) m += static_cast<char>(bits >> (i * 8));
  for (size_t block = 0; block < m.size(); block += 64) {
    uint32_t w[64];
    for (int i = 0; i < 16; ++i) {
      const auto* p = reinterpret_cast<const uint8_t*>(m.data() + block + 4 * i);
      w[i] = uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
    }
    for (int i = 16; i < 64; ++i) {
      const uint32_t s0 = std::rotr(w[i - 15], 7) ^ std::rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
      const uint32_t s1 = std::rotr(w[i - 2], 17) ^ std::rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
    for (int i = 0; i < 64; ++i) {
      const uint32_t t1 = k + (std::rotr(e, 6) ^ std::rotr(e, 11) ^ std::rotr(e, 25)) +
                          ((e & f) ^ (~e & g)) + kK[i] + w[i];
      const uint32_t t2 =
          (std::rotr(a, 2) ^ std::rotr(a, 13) ^ std::rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
      k = g;
      g = f;
      f = e;
      e = d + t1;
      d = c;
      c = b;
      b = a;
      a = t1 + t2;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += k;
  }
  std::string out;
  for (uint32_t word : h) {
    for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>(word >> shift);
  }
  return out;
}

std::string hmac_sha256(std::string_view key, std::string_view message) {
  std::string k = key.size() > 64 ? sha256(key) : std::string(key);
  k.resize(64, '\0');
  std::string inner(64, '\0');
  std::string outer(64, '\0');
  for (size_t i = 0; i < 64; ++i) {
    inner[i] = static_cast<char>(k[i] ^ 0x36);
    outer[i] = static_cast<char>(k[i] ^ 0x5c);
  }
  return sha256(outer + sha256(inner + std::string(message)));
}

std::string client_proof(std::string_view secret, const std::string& client_id,
                         const std::string& client_nonce, const std::string& server_nonce) {
  return hmac_sha256(secret, "client" + client_id + client_nonce + server_nonce);
}

std::string server_proof(std::string_view secret, const std::string& client_id,
                         const std::string& client_nonce, const std::string& server_nonce) {
  return hmac_sha256(secret, "server" + client_id + server_nonce + client_nonce);
}

std::string to_hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out += kDigits[b >> 4];
    out += kDigits[b & 0x0F];
  }
  return out;
}

// --- An MQTT 5 client on RawClient, speaking through the broker's codec --------------------

class V5Client {
 public:
  ::testing::AssertionResult connect(uint16_t port) { return raw_.connect(port); }

  ::testing::AssertionResult send(const std::string& bytes) {
    return raw_.send(Bytes(bytes.begin(), bytes.end()));
  }
  template <typename P>
  ::testing::AssertionResult send_packet(const P& p) {
    std::string out;
    // CONNECT, AUTH and PINGREQ have one encoding; the others depend on the version.
    if constexpr (requires { mqtt::encode(p, &out); }) {
      mqtt::encode(p, &out);
    } else {
      mqtt::encode(p, mqtt::ProtocolVersion::kV5, &out);
    }
    return send(out);
  }

  // Next packet, decoded as MQTT 5; nullopt on timeout, close or an undecodable packet. A
  // PUBLISH's topic and payload point into this client and stay valid until the next recv.
  std::optional<mqtt::Packet> recv(milliseconds timeout = kWait) {
    std::optional<Packet> packet = raw_.recv_packet(timeout);
    if (!packet) return std::nullopt;
    last_body_.assign(packet->body.begin(), packet->body.end());
    mqtt::FrameHeader header;
    header.first_byte = packet->header;
    header.remaining_length = static_cast<uint32_t>(last_body_.size());
    header.header_size = 2;
    for (uint32_t n = header.remaining_length; n >= 128; n /= 128) ++header.header_size;
    auto decoded = mqtt::decode_packet(header, last_body_, mqtt::ProtocolVersion::kV5);
    if (!decoded.is_ok()) {
      ADD_FAILURE() << "undecodable packet from the broker: " << decoded.status().to_string() << " "
                    << describe(*packet);
      return std::nullopt;
    }
    return std::move(*decoded);
  }

  // Receives one packet that must be of type P.
  template <typename P>
  std::optional<P> expect(const char* what, milliseconds timeout = kWait) {
    std::optional<mqtt::Packet> packet = recv(timeout);
    if (!packet) {
      ADD_FAILURE() << "no " << what << " within " << timeout.count() << " ms";
      return std::nullopt;
    }
    if (!std::holds_alternative<P>(*packet)) {
      ADD_FAILURE() << "expected " << what << ", got variant index " << packet->index();
      return std::nullopt;
    }
    return std::get<P>(std::move(*packet));
  }

  bool wait_closed(milliseconds timeout = kWait) { return raw_.wait_closed(timeout); }

 private:
  RawClient raw_;
  std::string last_body_;
};

mqtt::ConnectPacket v5_connect(const std::string& client_id,
                               std::optional<std::string> method = std::nullopt,
                               std::optional<std::string> data = std::nullopt) {
  mqtt::ConnectPacket connect;
  connect.version = mqtt::ProtocolVersion::kV5;
  connect.clean_start = true;
  connect.keep_alive = 30;
  connect.client_id = client_id;
  connect.properties.authentication_method = std::move(method);
  connect.properties.authentication_data = std::move(data);
  return connect;
}

mqtt::AuthPacket auth_packet(uint8_t reason_code, const std::string& data,
                             const std::string& method = kMethod) {
  mqtt::AuthPacket auth;
  auth.reason_code = reason_code;
  auth.properties.authentication_method = method;
  auth.properties.authentication_data = data;
  return auth;
}

// The broker's challenge: AUTH 0x18 naming the method, with a 16-byte server nonce.
std::optional<std::string> expect_challenge(V5Client& client) {
  auto auth = client.expect<mqtt::AuthPacket>("AUTH challenge");
  if (!auth) return std::nullopt;
  EXPECT_EQ(auth->reason_code, mqtt::reason::kContinueAuthentication);
  EXPECT_EQ(auth->properties.authentication_method.value_or(""), kMethod);
  const std::string nonce = auth->properties.authentication_data.value_or("");
  EXPECT_EQ(nonce.size(), 16u) << "server nonce " << to_hex(nonce);
  return nonce;
}

// Runs the whole CONNECT exchange with the right secret and checks the broker's proof.
::testing::AssertionResult authenticated_connect(V5Client& client, uint16_t port,
                                                 const std::string& client_id) {
  if (auto r = client.connect(port); !r) return r;
  const std::string client_nonce = "nonce-of-" + client_id;
  if (auto r = client.send_packet(v5_connect(client_id, kMethod, client_nonce)); !r) return r;
  std::optional<std::string> server_nonce = expect_challenge(client);
  if (!server_nonce) return ::testing::AssertionFailure() << "no challenge";
  if (auto r = client.send_packet(
          auth_packet(mqtt::reason::kContinueAuthentication,
                      client_proof(kSecret, client_id, client_nonce, *server_nonce)));
      !r) {
    return r;
  }
  auto connack = client.expect<mqtt::ConnackPacket>("CONNACK");
  if (!connack) return ::testing::AssertionFailure() << "no CONNACK";
  if (connack->reason_code != mqtt::reason::kSuccess) {
    return ::testing::AssertionFailure() << "CONNACK reason " << int{connack->reason_code} << " ("
                                         << connack->properties.reason_string.value_or("") << ")";
  }
  if (connack->properties.authentication_method.value_or("") != kMethod) {
    return ::testing::AssertionFailure() << "CONNACK does not name the method";
  }
  const std::string expected = server_proof(kSecret, client_id, client_nonce, *server_nonce);
  const std::string got = connack->properties.authentication_data.value_or("");
  if (got != expected) {
    return ::testing::AssertionFailure()
           << "server proof " << to_hex(got) << ", expected " << to_hex(expected);
  }
  return ::testing::AssertionSuccess();
}

class V5AuthTest : public BrokerTest {
 protected:
  std::vector<std::string> broker_args() const override { return {"--auth-hmac-secret", kSecret}; }
};

class V5AuthDisabledTest : public BrokerTest {};

// Guards the test's own HMAC: the same known answers the plugin's unit test pins, computed
// with `openssl dgst -sha256 -mac HMAC`.
TEST(V5AuthHelperTest, IndependentHmacMatchesKnownAnswers) {
  EXPECT_EQ(to_hex(sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(
      to_hex(client_proof("s3cr3t-shared-key", "sensor-1", "0123456789abcdef", "ABCDEFGHIJKLMNOP")),
      "e0344d1c8fec60f0c5057bad080a5431f27a7fa5228c61d97ac078726d2716a2");
  EXPECT_EQ(
      to_hex(server_proof("s3cr3t-shared-key", "sensor-1", "0123456789abcdef", "ABCDEFGHIJKLMNOP")),
      "9ad3657f517023a2a880180b843a6dbea701d26cfa8f8ef780adb437d9cc1aae");
}

// Steps 1-4 end in CONNACK 0 carrying the server proof, and the connection is then an
// ordinary MQTT 5 connection.
TEST_F(V5AuthTest, SuccessfulExchangeThenPublishSubscribe) {
  V5Client client;
  ASSERT_TRUE(authenticated_connect(client, port(), "auth-ok"));

  mqtt::SubscribePacket subscribe;
  subscribe.packet_id = 1;
  subscribe.subscriptions.push_back({.filter = "auth/round-trip", .qos = 1});
  ASSERT_TRUE(client.send_packet(subscribe));
  auto suback = client.expect<mqtt::SubackPacket>("SUBACK");
  ASSERT_TRUE(suback);
  EXPECT_EQ(suback->packet_id, 1);
  EXPECT_EQ(suback->reason_codes, std::vector<uint8_t>{mqtt::reason::kGrantedQos1});

  mqtt::PublishPacket publish;
  publish.topic = "auth/round-trip";
  publish.payload = "after-auth";
  publish.qos = 1;
  publish.packet_id = 2;
  ASSERT_TRUE(client.send_packet(publish));
  bool got_puback = false;
  bool got_publish = false;
  for (int i = 0; i < 2; ++i) {
    std::optional<mqtt::Packet> packet = client.recv();
    ASSERT_TRUE(packet) << "missing PUBACK or PUBLISH";
    if (auto* ack = std::get_if<mqtt::AckPacket>(&*packet)) {
      EXPECT_EQ(ack->type, mqtt::PacketType::kPuback);
      EXPECT_EQ(ack->packet_id, 2);
      got_puback = true;
    } else if (auto* p = std::get_if<mqtt::PublishPacket>(&*packet)) {
      EXPECT_EQ(p->topic, "auth/round-trip");
      EXPECT_EQ(p->payload, "after-auth");
      EXPECT_EQ(p->qos, 1);
      mqtt::AckPacket puback;
      puback.type = mqtt::PacketType::kPuback;
      puback.packet_id = p->packet_id;
      ASSERT_TRUE(client.send_packet(puback));
      got_publish = true;
    } else {
      FAIL() << "unexpected packet, variant index " << packet->index();
    }
  }
  EXPECT_TRUE(got_puback);
  EXPECT_TRUE(got_publish);
  ASSERT_TRUE(client.send_packet(mqtt::DisconnectPacket{}));
  EXPECT_TRUE(client.wait_closed());
}

TEST_F(V5AuthTest, WrongProofGetsConnack87) {
  V5Client client;
  ASSERT_TRUE(client.connect(port()));
  ASSERT_TRUE(client.send_packet(v5_connect("auth-wrong", kMethod, "nonce-wrong-proof")));
  std::optional<std::string> server_nonce = expect_challenge(client);
  ASSERT_TRUE(server_nonce);
  ASSERT_TRUE(client.send_packet(auth_packet(
      mqtt::reason::kContinueAuthentication,
      client_proof("not-the-secret", "auth-wrong", "nonce-wrong-proof", *server_nonce))));
  auto connack = client.expect<mqtt::ConnackPacket>("CONNACK");
  ASSERT_TRUE(connack);
  EXPECT_EQ(connack->reason_code, mqtt::reason::kNotAuthorized);
  EXPECT_EQ(connack->properties.reason_string.value_or(""), "authentication failed");
  EXPECT_FALSE(connack->properties.authentication_data);
  EXPECT_TRUE(client.wait_closed()) << "connection left open after a refused CONNECT";
}

// Step 1's nonce bounds are enforced before any challenge is sent.
TEST_F(V5AuthTest, ShortClientNonceGetsConnack87) {
  V5Client client;
  ASSERT_TRUE(client.connect(port()));
  ASSERT_TRUE(client.send_packet(v5_connect("auth-short", kMethod, "1234567")));
  auto connack = client.expect<mqtt::ConnackPacket>("CONNACK");
  ASSERT_TRUE(connack);
  EXPECT_EQ(connack->reason_code, mqtt::reason::kNotAuthorized);
  EXPECT_EQ(connack->properties.reason_string.value_or(""), "client nonce must be 8 to 64 bytes");
  EXPECT_TRUE(client.wait_closed());
}

TEST_F(V5AuthTest, UnknownMethodGetsConnack8C) {
  V5Client client;
  ASSERT_TRUE(client.connect(port()));
  ASSERT_TRUE(client.send_packet(v5_connect("auth-unknown", "SCRAM-SHA-1", "nonce-123")));
  auto connack = client.expect<mqtt::ConnackPacket>("CONNACK");
  ASSERT_TRUE(connack);
  EXPECT_EQ(connack->reason_code, mqtt::reason::kBadAuthenticationMethod);
  EXPECT_TRUE(client.wait_closed());
}

TEST_F(V5AuthDisabledTest, AnyMethodGetsConnack8CWithoutThePlugin) {
  for (const char* method : {kMethod, "SCRAM-SHA-256"}) {
    V5Client client;
    ASSERT_TRUE(client.connect(port()));
    ASSERT_TRUE(client.send_packet(v5_connect("auth-off", method, "nonce-12345678")));
    auto connack = client.expect<mqtt::ConnackPacket>("CONNACK");
    ASSERT_TRUE(connack) << method;
    EXPECT_EQ(connack->reason_code, mqtt::reason::kBadAuthenticationMethod) << method;
    EXPECT_TRUE(client.wait_closed()) << method;
  }
}

// MQTT 5 §4.12.1: AUTH 0x19 starts a new exchange on a live connection; success is AUTH
// 0x00 with the server proof, and the connection carries on.
TEST_F(V5AuthTest, ReauthenticationSucceeds) {
  V5Client client;
  ASSERT_TRUE(authenticated_connect(client, port(), "auth-again"));
  for (int round = 0; round < 2; ++round) {
    const std::string client_nonce = "re-auth-nonce-" + std::to_string(round);
    ASSERT_TRUE(client.send_packet(auth_packet(mqtt::reason::kReauthenticate, client_nonce)));
    std::optional<std::string> server_nonce = expect_challenge(client);
    ASSERT_TRUE(server_nonce);
    ASSERT_TRUE(client.send_packet(
        auth_packet(mqtt::reason::kContinueAuthentication,
                    client_proof(kSecret, "auth-again", client_nonce, *server_nonce))));
    auto done = client.expect<mqtt::AuthPacket>("AUTH success");
    ASSERT_TRUE(done);
    EXPECT_EQ(done->reason_code, mqtt::reason::kSuccess);
    EXPECT_EQ(done->properties.authentication_method.value_or(""), kMethod);
    EXPECT_EQ(to_hex(done->properties.authentication_data.value_or("")),
              to_hex(server_proof(kSecret, "auth-again", client_nonce, *server_nonce)));
  }
  ASSERT_TRUE(client.send_packet(mqtt::PingreqPacket{}));
  EXPECT_TRUE(client.expect<mqtt::PingrespPacket>("PINGRESP")) << "connection unusable";
}

TEST_F(V5AuthTest, ReauthenticationWithWrongProofGetsDisconnect87) {
  V5Client client;
  ASSERT_TRUE(authenticated_connect(client, port(), "auth-reject"));
  ASSERT_TRUE(client.send_packet(auth_packet(mqtt::reason::kReauthenticate, "re-auth-nonce")));
  std::optional<std::string> server_nonce = expect_challenge(client);
  ASSERT_TRUE(server_nonce);
  ASSERT_TRUE(client.send_packet(
      auth_packet(mqtt::reason::kContinueAuthentication,
                  client_proof("not-the-secret", "auth-reject", "re-auth-nonce", *server_nonce))));
  auto disconnect = client.expect<mqtt::DisconnectPacket>("DISCONNECT");
  ASSERT_TRUE(disconnect);
  EXPECT_EQ(disconnect->reason_code, mqtt::reason::kNotAuthorized);
  EXPECT_EQ(disconnect->properties.reason_string.value_or(""), "authentication failed");
  EXPECT_TRUE(client.wait_closed());
}

// MQTT 5 §4.12: a client that did not choose a method at CONNECT may not send AUTH.
TEST_F(V5AuthTest, AuthWithoutEnhancedAuthAtConnectGetsDisconnect82) {
  V5Client client;
  ASSERT_TRUE(client.connect(port()));
  ASSERT_TRUE(client.send_packet(v5_connect("auth-plain")));
  auto connack = client.expect<mqtt::ConnackPacket>("CONNACK");
  ASSERT_TRUE(connack);
  ASSERT_EQ(connack->reason_code, mqtt::reason::kSuccess);
  EXPECT_FALSE(connack->properties.authentication_method);

  ASSERT_TRUE(client.send_packet(auth_packet(mqtt::reason::kReauthenticate, "nonce-12345678")));
  auto disconnect = client.expect<mqtt::DisconnectPacket>("DISCONNECT");
  ASSERT_TRUE(disconnect);
  EXPECT_EQ(disconnect->reason_code, mqtt::reason::kProtocolError);
  EXPECT_TRUE(client.wait_closed());
}

}  // namespace
}  // namespace topicdb::itest
