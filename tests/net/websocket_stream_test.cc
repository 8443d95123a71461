// WebSocketStream over a MemoryStream: the Upgrade answer (RFC 6455 §4.2.2, MQTT 5 §6),
// client frames in (masked, split, fragmented, control frames) and binary frames out.
#include "net/websocket_stream.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "net/memory_stream.h"
#include "net/websocket_handshake.h"

namespace topicdb::net {
namespace {

class WsRecordingOwner final : public StreamOwner {
 public:
  void on_stream_data(std::string_view bytes) override { received.append(bytes); }
  void on_stream_written(size_t bytes) override { written += bytes; }
  void on_stream_end(End why) override { ends.push_back(why); }
  void on_stream_closed() override { ++closed; }

  std::string received;
  size_t written = 0;
  std::vector<End> ends;
  int closed = 0;
};

std::string upgrade_request(const std::string& path = "/mqtt",
                            const std::string& protocol = "mqtt") {
  std::string request = "GET " + path +
                        " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                        "Connection: keep-alive, Upgrade\r\n"
                        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                        "Sec-WebSocket-Version: 13\r\n";
  if (!protocol.empty()) request += "Sec-WebSocket-Protocol: " + protocol + "\r\n";
  return request + "\r\n";
}

// A client frame (RFC 6455 §5.2): masked, as clients must.
std::string client_frame(uint8_t opcode, const std::string& payload, bool fin = true,
                         bool masked = true) {
  std::string frame;
  frame.push_back(static_cast<char>((fin ? 0x80 : 0) | opcode));
  const char mask_bit = masked ? static_cast<char>(0x80) : 0;
  if (payload.size() < 126) {
    frame.push_back(static_cast<char>(mask_bit | static_cast<char>(payload.size())));
  } else {
    frame.push_back(static_cast<char>(mask_bit | 126));
    frame.push_back(static_cast<char>(payload.size() >> 8));
    frame.push_back(static_cast<char>(payload.size() & 0xFF));
  }
  const char mask[4] = {0x12, 0x34, 0x56, 0x78};
  if (masked) frame.append(mask, 4);
  for (size_t i = 0; i < payload.size(); ++i) {
    frame.push_back(masked ? static_cast<char>(payload[i] ^ mask[i % 4]) : payload[i]);
  }
  return frame;
}

class WebSocketStreamTest : public ::testing::Test {
 protected:
  WebSocketStreamTest() {
    auto wire = std::make_unique<MemoryStream>(&buffers_, "10.0.0.1:8080");
    wire_ = wire.get();
    ws_ = std::make_unique<WebSocketStream>(std::move(wire), &buffers_);
    ws_->set_owner(&owner_);
    EXPECT_TRUE(ws_->start_reading());
  }
  void upgrade() {
    wire_->push(upgrade_request());
    ASSERT_TRUE(ws_->open());
    std::string response = wire_->take_written();
    ASSERT_EQ(response.rfind("HTTP/1.1 101 ", 0), 0u) << response;
  }

  LoopBuffers buffers_;
  MemoryStream* wire_;
  std::unique_ptr<WebSocketStream> ws_;
  WsRecordingOwner owner_;
};

TEST(WebSocketHandshakeTest, AcceptKeyIsRfc6455sExample) {
  EXPECT_EQ(websocket_accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(WebSocketHandshakeTest, ProtocolListAndQueryAreAccepted) {
  UpgradeAnswer answer =
      answer_upgrade(upgrade_request("/mqtt?x=1", "wamp, MQTT"), "/mqtt", "mqtt");
  EXPECT_TRUE(answer.accepted) << answer.reason;
}

TEST(WebSocketHandshakeTest, RefusalsSayWhy) {
  EXPECT_EQ(
      answer_upgrade(upgrade_request("/other"), "/mqtt", "mqtt").response.rfind("HTTP/1.1 404 ", 0),
      0u);
  EXPECT_EQ(answer_upgrade(upgrade_request("/mqtt", ""), "/mqtt", "mqtt")
                .response.rfind("HTTP/1.1 400 ", 0),
            0u);
  EXPECT_EQ(answer_upgrade("POST /mqtt HTTP/1.1\r\n\r\n", "/mqtt", "mqtt")
                .response.rfind("HTTP/1.1 405 ", 0),
            0u);
  EXPECT_EQ(answer_upgrade("GET /mqtt HTTP/1.1\r\nHost: x\r\n\r\n", "/mqtt", "mqtt")
                .response.rfind("HTTP/1.1 426 ", 0),
            0u);
}

TEST_F(WebSocketStreamTest, UpgradeAnswersWithAcceptKeyAndSubprotocol) {
  wire_->push(upgrade_request());
  ASSERT_TRUE(ws_->open());
  std::string response = wire_->take_written();
  EXPECT_EQ(response.rfind("HTTP/1.1 101 Switching Protocols\r\n", 0), 0u);
  EXPECT_NE(response.find("\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"),
            std::string::npos);
  EXPECT_NE(response.find("\r\nSec-WebSocket-Protocol: mqtt\r\n"), std::string::npos);
  EXPECT_TRUE(owner_.received.empty());  // the HTTP request is not MQTT
  EXPECT_TRUE(owner_.ends.empty());
}

TEST_F(WebSocketStreamTest, RequestSplitAcrossReadsAndFramesBehindIt) {
  std::string bytes = upgrade_request() + client_frame(0x2,
                                                       "\x10\x0c"
                                                       "connect");
  for (char byte : bytes) wire_->push(std::string(1, byte));
  EXPECT_TRUE(ws_->open());
  EXPECT_EQ(owner_.received,
            "\x10\x0c"
            "connect");

  ws_ = nullptr;  // a new stream: request and frame in one read
  auto wire = std::make_unique<MemoryStream>(&buffers_);
  wire_ = wire.get();
  ws_ = std::make_unique<WebSocketStream>(std::move(wire), &buffers_);
  owner_.received.clear();
  ws_->set_owner(&owner_);
  ws_->start_reading();
  wire_->push(bytes);
  EXPECT_EQ(owner_.received,
            "\x10\x0c"
            "connect");
}

TEST_F(WebSocketStreamTest, FragmentedAndLongMessagesArriveAsOneByteStream) {
  upgrade();
  std::string big(70000, 'x');
  wire_->push(client_frame(0x2, "ab", /*fin=*/false) + client_frame(0x0, "cd", false) +
              client_frame(0x0, "ef", true) + client_frame(0x2, std::string(300, 'y')));
  EXPECT_EQ(owner_.received, "abcdef" + std::string(300, 'y'));
  EXPECT_TRUE(owner_.ends.empty());
}

TEST_F(WebSocketStreamTest, OwnerBytesGoOutAsOneUnmaskedBinaryFrame) {
  upgrade();
  ws_->out().append(std::string("\x20\x02\x00\x00", 4));
  ws_->flush();
  EXPECT_EQ(wire_->take_written(), std::string("\x82\x04\x20\x02\x00\x00", 6));
  EXPECT_EQ(owner_.written, 4u);
  EXPECT_EQ(ws_->queued_bytes(), 0u);

  auto shared = std::make_shared<const std::string>(300, 'p');
  ws_->out().append("h");
  ws_->out().append_shared(shared);
  ws_->flush();
  std::string frame = wire_->take_written();
  ASSERT_EQ(frame.size(), 4u + 301u);
  EXPECT_EQ(frame.substr(0, 4), std::string("\x82\x7e\x01\x2d", 4));  // 126: 16-bit length
  EXPECT_EQ(frame.substr(4), "h" + *shared);

  ws_->out().append(std::string(70000, 'z'));
  ws_->flush();
  frame = wire_->take_written();
  EXPECT_EQ(frame.substr(0, 10), std::string("\x82\x7f\x00\x00\x00\x00\x00\x01\x11\x70", 10));
  EXPECT_EQ(frame.size(), 10u + 70000u);
}

TEST_F(WebSocketStreamTest, PingIsAnsweredWithPong) {
  upgrade();
  wire_->push(client_frame(0x9, "hi"));
  EXPECT_EQ(wire_->take_written(), std::string("\x8a\x02hi", 4));
  EXPECT_TRUE(owner_.received.empty());
}

TEST_F(WebSocketStreamTest, CloseFrameIsAnsweredAndEndsTheStream) {
  upgrade();
  wire_->push(client_frame(0x8, std::string("\x03\xe8", 2)));
  std::string answer = wire_->take_written();
  ASSERT_GE(answer.size(), 2u);
  EXPECT_EQ(static_cast<uint8_t>(answer[0]), 0x88);
  ASSERT_EQ(owner_.ends.size(), 1u);
  EXPECT_EQ(owner_.ends[0], StreamOwner::End::kPeerClosed);
}

TEST_F(WebSocketStreamTest, TextFrameClosesWith1003) {
  upgrade();
  wire_->push(client_frame(0x1, "text"));
  EXPECT_EQ(wire_->take_written(), std::string("\x88\x02\x03\xeb", 4));
  EXPECT_TRUE(owner_.received.empty());
  ASSERT_EQ(owner_.ends.size(), 1u);
  EXPECT_EQ(owner_.ends[0], StreamOwner::End::kReadError);
}

TEST_F(WebSocketStreamTest, UnmaskedClientFrameIsAProtocolError) {
  upgrade();
  wire_->push(client_frame(0x2, "abc", true, /*masked=*/false));
  EXPECT_TRUE(owner_.received.empty());
  ASSERT_EQ(owner_.ends.size(), 1u);
  EXPECT_EQ(owner_.ends[0], StreamOwner::End::kReadError);
  std::string answer = wire_->take_written();
  ASSERT_GE(answer.size(), 4u);
  EXPECT_EQ(static_cast<uint8_t>(answer[0]), 0x88);  // close 1002
}

TEST_F(WebSocketStreamTest, WrongPathIsRefusedWith404) {
  wire_->push(upgrade_request("/"));
  EXPECT_FALSE(ws_->open());
  EXPECT_EQ(wire_->take_written().rfind("HTTP/1.1 404 ", 0), 0u);
  ASSERT_EQ(owner_.ends.size(), 1u);
}

TEST_F(WebSocketStreamTest, OverlongRequestIsRefused) {
  wire_->push("GET /mqtt HTTP/1.1\r\n" + std::string(kMaxUpgradeRequestBytes, 'a'));
  EXPECT_EQ(wire_->take_written().rfind("HTTP/1.1 431 ", 0), 0u);
  ASSERT_EQ(owner_.ends.size(), 1u);
}

TEST_F(WebSocketStreamTest, OrderlyCloseSendsACloseFrame) {
  upgrade();
  ws_->out().append("last");
  ws_->close(/*flush_first=*/true);
  EXPECT_EQ(wire_->take_written(), std::string("\x82\x04last\x88\x02\x03\xe8", 10));
  EXPECT_TRUE(wire_->closed());
}

}  // namespace
}  // namespace topicdb::net
