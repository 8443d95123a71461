// MQTT over WebSocket against the real broker: Paho C++ over ws://127.0.0.1:PORT/mqtt and
// wss:// (certificates made at test time), mixed with plain MQTT, and the HTTP answers a
// non-MQTT request gets.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/integration/broker_process.h"
#include "tests/integration/layered_listeners.h"
#include "tests/integration/paho_client.h"
#include "tests/integration/raw_http.h"
#include "tests/net/test_certificates.h"

namespace topicdb::itest {
namespace {

using test_support::TestCertificates;

class WebSocketTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string error;
    certs_ = TestCertificates::make(&error).release();
    ASSERT_NE(certs_, nullptr) << error;
  }
  static void TearDownTestSuite() {
    delete certs_;
    certs_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(broker_.start(
        dir_.path(), {"--listen-ws", "127.0.0.1:0", "--listen-wss", "127.0.0.1:0", "--tls-cert",
                      certs_->server_cert(), "--tls-key", certs_->server_key()}));
    ws_port_ = ready_port(broker_.ready_line(), "ws");
    wss_port_ = ready_port(broker_.ready_line(), "wss");
    ASSERT_NE(ws_port_, 0) << broker_.ready_line();
    ASSERT_NE(wss_port_, 0) << broker_.ready_line();
  }
  std::string ws_uri() const { return "ws://127.0.0.1:" + std::to_string(ws_port_) + "/mqtt"; }
  std::string wss_uri() const { return "wss://127.0.0.1:" + std::to_string(wss_port_) + "/mqtt"; }
  static UriClientOptions trusting() {
    ::mqtt::ssl_options ssl;
    ssl.set_trust_store(certs_->ca_cert());
    ssl.set_enable_server_cert_auth(true);
    ssl.set_verify(true);
    return {ssl, std::nullopt};
  }

  // Sends `request` on a fresh TCP connection to the ws port; returns what comes back
  // until the broker closes (at most 5 s).
  std::string http_exchange(const std::string& request) {
    return itest::http_exchange(ws_port_, request);
  }

  static TestCertificates* certs_;
  TempDir dir_;
  BrokerProcess broker_;
  uint16_t ws_port_ = 0;
  uint16_t wss_port_ = 0;
};

TestCertificates* WebSocketTest::certs_ = nullptr;

// Large messages go one way at a time here: Paho C keeps received WebSocket frames in
// globals shared by all its connections (paho.mqtt.c src/WebSocket.c: in_frames,
// frame_buffer), and in our runs a client reading a large frame while writing one stalled
// for seconds; a Python (paho-mqtt) WebSocket client did the same round trips without a stall.
TEST_F(WebSocketTest, PahoOverWsPublishesAndSubscribes) {
  UriClient ws(ws_uri(), "ws-client");
  ASSERT_TRUE(ws.connect());
  ASSERT_TRUE(ws.subscribe("to-ws/#", 1));
  PahoClient tcp(broker_.port(), "tcp-client");
  ASSERT_TRUE(tcp.connect());
  ASSERT_TRUE(tcp.subscribe("from-ws/#", 1));

  // A round trip through the broker over WebSocket alone.
  ASSERT_TRUE(ws.subscribe("ws/echo", 2));
  ASSERT_TRUE(ws.publish("ws/echo", "hello ws", 2));
  auto echo = ws.receive();
  ASSERT_TRUE(echo);
  EXPECT_EQ(echo->get_payload_str(), "hello ws");
  EXPECT_EQ(echo->get_qos(), 2);

  std::string big(300000, 'w');  // frames larger than 64 KiB, read in pieces
  ASSERT_TRUE(ws.publish("from-ws/big", big, 2));
  auto at_tcp = tcp.receive();
  ASSERT_TRUE(at_tcp);
  EXPECT_EQ(at_tcp->get_payload_str(), big);

  ASSERT_TRUE(tcp.publish("to-ws/big", big + "back", 1));
  auto at_ws = ws.receive();
  ASSERT_TRUE(at_ws);
  EXPECT_EQ(at_ws->get_payload_str(), big + "back");
}

TEST_F(WebSocketTest, PahoOverWssPublishesAndSubscribes) {
  UriClient wss(wss_uri(), "wss-client");
  ASSERT_TRUE(wss.connect(trusting()));
  ASSERT_TRUE(wss.subscribe("wss/echo", 1));
  ASSERT_TRUE(wss.publish("wss/echo", "hello wss", 1));
  auto echo = wss.receive();
  ASSERT_TRUE(echo);
  EXPECT_EQ(echo->get_payload_str(), "hello wss");

  PahoClient tcp(broker_.port(), "tcp-client");
  ASSERT_TRUE(tcp.connect());
  ASSERT_TRUE(tcp.subscribe("from-wss", 1));
  std::string big(200000, 's');
  ASSERT_TRUE(wss.publish("from-wss", big, 2));
  auto at_tcp = tcp.receive();
  ASSERT_TRUE(at_tcp);
  EXPECT_EQ(at_tcp->get_payload_str(), big);
  ASSERT_TRUE(tcp.publish("wss/echo", big + "back", 1));
  auto at_wss = wss.receive();
  ASSERT_TRUE(at_wss);
  EXPECT_EQ(at_wss->get_payload_str(), big + "back");
}

TEST_F(WebSocketTest, WssNeedsTheCertificateTrusted) {
  UriClient client(wss_uri(), "wss-untrusting");
  ::mqtt::ssl_options ssl;  // system trust store: the test CA is not in it
  ssl.set_enable_server_cert_auth(true);
  EXPECT_FALSE(client.connect({ssl, std::nullopt}));
}

TEST_F(WebSocketTest, OtherPathsAndPlainHttpAreRefused) {
  std::string not_found = http_exchange(
      "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
      "Sec-WebSocket-Protocol: mqtt\r\n\r\n");
  EXPECT_EQ(not_found.rfind("HTTP/1.1 404 ", 0), 0u) << not_found;
  std::string no_upgrade = http_exchange("GET /mqtt HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(no_upgrade.rfind("HTTP/1.1 426 ", 0), 0u) << no_upgrade;
  std::string upgraded = http_exchange(
      "GET /mqtt HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
      "Sec-WebSocket-Protocol: mqtt\r\n\r\n"
      // A masked close frame (status 1000): the broker answers with its own and ends.
      "\x88\x82\x01\x02\x03\x04\x02\xea");
  EXPECT_EQ(upgraded.rfind("HTTP/1.1 101 ", 0), 0u) << upgraded;
  EXPECT_NE(upgraded.find("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"),
            std::string::npos);
  EXPECT_NE(upgraded.find("Sec-WebSocket-Protocol: mqtt\r\n"), std::string::npos);
  EXPECT_NE(upgraded.find("\x88"), std::string::npos);
  EXPECT_TRUE(broker_.running());
}

}  // namespace
}  // namespace topicdb::itest
