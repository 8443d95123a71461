// WebSocketStream: MQTT over WebSocket (MQTT 5 §6) on another Stream (TCP for ws://, a
// TlsStream for wss://): answers the HTTP Upgrade for /mqtt with subprotocol "mqtt", then
// carries the byte stream in binary frames. wslay decodes the client's frames (unmasking,
// fragmentation, ping/pong, close); our bytes go out as single unmasked binary frames.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <string_view>

#include "net/layered_stream.h"

struct wslay_event_context;

namespace topicdb::net {

class WebSocketStream final : public LayeredStream {
 public:
  // Borrows `buffers`.
  WebSocketStream(std::unique_ptr<Stream> inner, LoopBuffers* buffers);
  ~WebSocketStream() override;

  // The Upgrade was answered with 101: frames flow.
  bool open() const { return state_ == State::kOpen; }

 private:
  friend struct WebSocketCallbacks;
  enum class State : uint8_t { kUpgrade, kOpen, kClosed };

  void on_inner_data(std::string_view bytes) override;
  bool ready_to_send() const override { return state_ == State::kOpen; }
  void encode(const OutBuffer::Batch& batch) override;
  void encode_goodbye() override;

  void on_request_bytes(std::string_view bytes);
  void on_frames(std::string_view bytes);
  // Sends what wslay queued (pongs, the answer to a close) into the inner stream.
  void send_queued();
  void fail(const std::string& why, uint16_t close_code);

  static ssize_t recv_callback(wslay_event_context* ctx, uint8_t* buf, size_t len, int flags,
                               void* user_data);
  static ssize_t send_callback(wslay_event_context* ctx, const uint8_t* data, size_t len, int flags,
                               void* user_data);

  wslay_event_context* ctx_ = nullptr;
  std::unique_ptr<std::string> request_;  // the Upgrade request, until its head is complete
  std::string_view input_;                // frame bytes not yet read by wslay
  uint8_t opcode_ = 0;                    // of the frame being received
  State state_ = State::kUpgrade;
};

}  // namespace topicdb::net
