#include "net/websocket_stream.h"

#include <wslay/wslay.h>

#include <algorithm>
#include <utility>

#include "base/log.h"
#include "net/websocket_handshake.h"

namespace topicdb::net {

namespace {

constexpr std::string_view kPath = "/mqtt";
constexpr std::string_view kSubprotocol = "mqtt";

// A server's frame header (RFC 6455 §5.2): FIN, the opcode, no mask, the shortest length.
void append_frame_header(std::string& out, uint8_t opcode, uint64_t length) {
  out.push_back(static_cast<char>(0x80 | opcode));
  if (length < 126) {
    out.push_back(static_cast<char>(length));
  } else if (length <= 0xFFFF) {
    out.push_back(static_cast<char>(126));
    out.push_back(static_cast<char>(length >> 8));
    out.push_back(static_cast<char>(length & 0xFF));
  } else {
    out.push_back(static_cast<char>(127));
    for (int shift = 56; shift >= 0; shift -= 8) {
      out.push_back(static_cast<char>((length >> shift) & 0xFF));
    }
  }
}

void on_frame_start(wslay_event_context_ptr, const wslay_event_on_frame_recv_start_arg* arg,
                    void* user_data);
void on_frame_chunk(wslay_event_context_ptr, const wslay_event_on_frame_recv_chunk_arg* arg,
                    void* user_data);

}  // namespace

// wslay calls back into the stream through these; they need its private parts.
struct WebSocketCallbacks {
  static void frame_start(WebSocketStream* s, uint8_t opcode) {
    s->opcode_ = opcode;
    // MQTT-6.0.0-1: MQTT travels in binary frames; a text frame closes the connection.
    if (opcode == WSLAY_TEXT_FRAME) s->fail("text frame received", WSLAY_CODE_UNSUPPORTED_DATA);
  }
  static void frame_chunk(WebSocketStream* s, const uint8_t* data, size_t len) {
    // Control frames are wslay's; continuation frames continue a binary message.
    if (s->opcode_ != WSLAY_BINARY_FRAME && s->opcode_ != WSLAY_CONTINUATION_FRAME) return;
    if (s->state_ != WebSocketStream::State::kOpen) return;
    s->deliver(std::string_view(reinterpret_cast<const char*>(data), len));
  }
};

namespace {

void on_frame_start(wslay_event_context_ptr, const wslay_event_on_frame_recv_start_arg* arg,
                    void* user_data) {
  WebSocketCallbacks::frame_start(static_cast<WebSocketStream*>(user_data), arg->opcode);
}

void on_frame_chunk(wslay_event_context_ptr, const wslay_event_on_frame_recv_chunk_arg* arg,
                    void* user_data) {
  WebSocketCallbacks::frame_chunk(static_cast<WebSocketStream*>(user_data), arg->data,
                                  arg->data_length);
}

}  // namespace

WebSocketStream::WebSocketStream(std::unique_ptr<Stream> inner, LoopBuffers* buffers)
    : LayeredStream(std::move(inner), buffers) {}

WebSocketStream::~WebSocketStream() {
  if (ctx_ != nullptr) wslay_event_context_free(ctx_);
}

void WebSocketStream::on_inner_data(std::string_view bytes) {
  if (state_ == State::kUpgrade) {
    on_request_bytes(bytes);
  } else if (state_ == State::kOpen) {
    on_frames(bytes);
  }
}

void WebSocketStream::on_request_bytes(std::string_view bytes) {
  if (!request_) request_ = std::make_unique<std::string>();
  request_->append(bytes);
  std::optional<size_t> head = upgrade_request_length(*request_);
  if (!head) {
    if (request_->size() > kMaxUpgradeRequestBytes) {
      inner().out().append(
          "HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n"
          "Content-Length: 0\r\n\r\n");
      fail("upgrade request too long", 0);
    }
    return;
  }
  UpgradeAnswer answer =
      answer_upgrade(std::string_view(*request_).substr(0, *head), kPath, kSubprotocol);
  inner().out().append(answer.response);
  if (!answer.accepted) {
    fail("upgrade refused: " + answer.reason, 0);
    return;
  }
  wslay_event_callbacks callbacks{};
  callbacks.recv_callback = &WebSocketStream::recv_callback;
  callbacks.send_callback = &WebSocketStream::send_callback;
  callbacks.on_frame_recv_start_callback = &on_frame_start;
  callbacks.on_frame_recv_chunk_callback = &on_frame_chunk;
  if (wslay_event_context_server_init(&ctx_, &callbacks, this) != 0) {
    fail("out of memory", 0);
    return;
  }
  // Frames are handed on as they arrive: MQTT has its own framing, so whole messages need
  // not be assembled (and a message's size is not bounded by memory held here).
  wslay_event_config_set_no_buffering(ctx_, 1);
  state_ = State::kOpen;
  std::unique_ptr<std::string> request = std::move(request_);
  flush_inner();
  flush();  // anything the owner queued meanwhile
  // Frames the client sent right behind its request.
  if (request->size() > *head) on_frames(std::string_view(*request).substr(*head));
}

void WebSocketStream::on_frames(std::string_view bytes) {
  input_ = bytes;
  int rc = wslay_event_recv(ctx_);
  input_ = {};
  if (state_ != State::kOpen) return;  // failed in a callback
  if (rc != 0) {
    fail("malformed frames", WSLAY_CODE_PROTOCOL_ERROR);
    return;
  }
  if (closing()) return;
  send_queued();
  if (wslay_event_get_close_received(ctx_)) {
    state_ = State::kClosed;  // wslay answered the close frame (queued and sent above)
    deliver_end(End::kPeerClosed);
  } else if (!wslay_event_want_read(ctx_)) {
    // wslay stopped reading: a protocol error it answered with a close frame.
    state_ = State::kClosed;
    deliver_end(End::kReadError);
  }
}

void WebSocketStream::send_queued() {
  if (ctx_ == nullptr || !wslay_event_want_write(ctx_)) return;
  wslay_event_send(ctx_);
  flush_inner();
}

ssize_t WebSocketStream::recv_callback(wslay_event_context* ctx, uint8_t* buf, size_t len, int,
                                       void* user_data) {
  auto* self = static_cast<WebSocketStream*>(user_data);
  if (self->input_.empty()) {
    wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
    return -1;
  }
  size_t n = std::min(len, self->input_.size());
  std::copy_n(self->input_.data(), n, buf);
  self->input_.remove_prefix(n);
  return static_cast<ssize_t>(n);
}

// The inner stream's queue takes everything, so wslay never holds a half-sent frame and our
// own data frames (encode) cannot interleave with its control frames.
ssize_t WebSocketStream::send_callback(wslay_event_context*, const uint8_t* data, size_t len, int,
                                       void* user_data) {
  auto* self = static_cast<WebSocketStream*>(user_data);
  self->inner().out().append(std::string_view(reinterpret_cast<const char*>(data), len));
  return static_cast<ssize_t>(len);
}

// One binary frame per flush: the header, then the owner's segments as they are (shared
// PUBLISH buffers stay shared).
void WebSocketStream::encode(const OutBuffer::Batch& batch) {
  OutBuffer& out = inner().out();
  append_frame_header(out.owned_tail(), WSLAY_BINARY_FRAME, batch.total);
  for (const OutBuffer::Batch::Segment& s : batch.segments) {
    if (s.shared_index >= 0) {
      out.append_shared(batch.shared[s.shared_index]);
    } else {
      out.append(std::string_view(batch.owned).substr(s.offset, s.length));
    }
  }
}

void WebSocketStream::encode_goodbye() {
  if (state_ != State::kOpen) return;
  state_ = State::kClosed;
  // RFC 6455 §5.5.1: a close frame with status 1000 (normal closure).
  std::string frame;
  append_frame_header(frame, WSLAY_CONNECTION_CLOSE, 2);
  frame.push_back(static_cast<char>(WSLAY_CODE_NORMAL_CLOSURE >> 8));
  frame.push_back(static_cast<char>(WSLAY_CODE_NORMAL_CLOSURE & 0xFF));
  inner().out().append(frame);
}

void WebSocketStream::fail(const std::string& why, uint16_t close_code) {
  const bool was_open = state_ == State::kOpen;
  state_ = State::kClosed;
  log::info("WebSocket with {}: {}", peer(), why);
  if (was_open && close_code != 0) {
    std::string frame;
    append_frame_header(frame, WSLAY_CONNECTION_CLOSE, 2);
    frame.push_back(static_cast<char>(close_code >> 8));
    frame.push_back(static_cast<char>(close_code & 0xFF));
    inner().out().append(frame);
  }
  flush_inner();
  deliver_end(End::kReadError);
}

}  // namespace topicdb::net
