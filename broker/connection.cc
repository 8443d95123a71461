#include "broker/connection.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "base/log.h"
#include "broker/broker.h"
#include "broker/codec/codec.h"

namespace topicdb::broker {

struct Connection::WriteRequest {
  uv_write_t req;
  OutBuffer::Batch batch;
  Connection* connection;
  size_t bytes;
};

Connection::Connection(Broker* broker, uint64_t id, int64_t now_ms) : broker_(broker), id_(id) {
  last_received_ms = now_ms;
  state_since_ms = now_ms;
  uv_tcp_init(broker_->loop(), &handle_);
  handle_.data = this;
  handle_open_ = true;
}

Connection::~Connection() = default;

std::string Connection::peer() const {
  if (!handle_open_) return "?";
  sockaddr_storage addr{};
  int len = sizeof(addr);
  if (uv_tcp_getpeername(&handle_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return "?";
  char host[64] = {0};
  int port = 0;
  if (addr.ss_family == AF_INET6) {
    auto* a6 = reinterpret_cast<sockaddr_in6*>(&addr);
    uv_ip6_name(a6, host, sizeof(host));
    port = ntohs(a6->sin6_port);
  } else {
    auto* a4 = reinterpret_cast<sockaddr_in*>(&addr);
    uv_ip4_name(a4, host, sizeof(host));
    port = ntohs(a4->sin_port);
  }
  return std::string(host) + ":" + std::to_string(port);
}

int Connection::accept_from(uv_stream_t* server) {
  int rc = uv_accept(server, reinterpret_cast<uv_stream_t*>(&handle_));
  if (rc != 0) {
    close(false);
    return rc;
  }
  uv_tcp_nodelay(&handle_, 1);
  rc = uv_read_start(reinterpret_cast<uv_stream_t*>(&handle_), &Connection::on_alloc,
                     &Connection::on_read);
  if (rc != 0) close(false);
  return rc;
}

// MQTT clients speak first, and the CONNECT has usually arrived by the time the connection
// is accepted. Reading it at once answers with CONNACK in this loop turn, instead of after
// the epoll registration and another epoll_wait; if nothing is there yet, libuv's read
// watcher picks it up as usual.
void Connection::read_now() {
  uv_os_fd_t fd = -1;
  if (!is_open() || uv_fileno(reinterpret_cast<uv_handle_t*>(&handle_), &fd) != 0) return;
  std::string& scratch = broker_->read_scratch();
  ssize_t n = recv(fd, scratch.data(), scratch.size(), 0);
  if (n > 0) {
    handle_bytes(scratch.data(), static_cast<size_t>(n));
  } else if (n == 0) {
    close(false);  // the client closed without a word
  } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
    log::debug("connection {} read error: {}", peer(), std::strerror(errno));
    close(false);
  }
}

// All connections read into one loop-wide buffer; only a packet split across reads is
// copied into the connection's own `partial_`. An idle connection holds no read buffer.
void Connection::on_alloc(uv_handle_t* handle, size_t, uv_buf_t* buf) {
  auto* self = static_cast<Connection*>(handle->data);
  std::string& scratch = self->broker_->read_scratch();
  *buf = uv_buf_init(scratch.data(), static_cast<unsigned>(scratch.size()));
}

void Connection::on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  auto* self = static_cast<Connection*>(stream->data);
  if (nread > 0) {
    self->handle_bytes(buf->base, static_cast<size_t>(nread));
  } else if (nread < 0) {
    if (nread != UV_EOF)
      log::debug("connection {} read error: {}", self->peer(), uv_strerror(nread));
    // What the client sent before closing still counts: held PUBLISHes (at most
    // kMaxHeldBytes) and a DISCONNECT behind them are processed, back-pressure or not.
    if (self->held_) self->drain_held();
    self->close(false);
  }
}

void Connection::handle_bytes(const char* data, size_t len) {
  broker_->count_bytes_received(len);
  last_received_ms = broker_->clock().now_ms();
  if (!partial_) {
    size_t used = dispatch_packets(data, len);
    if (is_open() && used < len) partial_ = std::make_unique<std::string>(data + used, len - used);
    return;
  }
  partial_->append(data, len);
  size_t used = dispatch_packets(partial_->data(), partial_->size());
  if (!is_open() || !partial_) return;
  if (used == partial_->size()) {
    partial_.reset();  // release the memory, not just the size
  } else if (used > 0) {
    partial_->erase(0, used);
  }
}

size_t Connection::dispatch_packets(const char* data, size_t len) {
  size_t pos = 0;
  while (pos < len && is_open()) {
    if (state_ == State::kAwaitingConnect && !authenticating() &&
        (static_cast<uint8_t>(data[pos]) >> 4) !=
            static_cast<uint8_t>(mqtt::PacketType::kConnect)) {
      // MQTT-3.1.0-1: the first packet must be CONNECT. Decided from the first byte, so a
      // stray protocol (an HTTP request, TLS hello) is cut at once instead of waiting for a
      // body length that was never meant as one.
      broker_->on_malformed(*this, Status::protocol_error("first packet is not CONNECT"));
      return pos;
    }
    mqtt::FrameHeader header;
    std::string_view rest(data + pos, len - pos);
    auto status = mqtt::parse_frame_header(rest, broker_->options().max_packet_size, &header);
    if (!status.is_ok()) {
      broker_->on_malformed(*this, status.status());
      return pos;
    }
    if (*status == mqtt::FrameStatus::kNeedMore || rest.size() < header.total_size()) break;
    if (must_hold(header.type())) {
      if (!held_) held_ = std::make_unique<std::string>();
      held_->append(rest.data(), header.total_size());
      pos += header.total_size();
      if (held_->size() > kMaxHeldBytes && !reading_stopped_) {
        uv_read_stop(reinterpret_cast<uv_stream_t*>(&handle_));
        reading_stopped_ = true;
      }
      continue;
    }
    broker_->on_packet(*this, header, rest.substr(header.header_size, header.remaining_length));
    pos += header.total_size();
  }
  return pos;
}

// While publishes are held, acknowledgements and pings go through (they do not depend on the
// held packets); anything else waits behind the held PUBLISHes to keep the client's order.
bool Connection::must_hold(mqtt::PacketType type) const {
  if (draining_ || (!publishes_held_ && !held_)) return false;
  switch (type) {
    case mqtt::PacketType::kPuback:
    case mqtt::PacketType::kPubrec:
    case mqtt::PacketType::kPubrel:
    case mqtt::PacketType::kPubcomp:
    case mqtt::PacketType::kPingreq:
      return false;
    default:
      return true;
  }
}

void Connection::drain_held() {
  draining_ = true;
  publishes_held_ = false;
  std::unique_ptr<std::string> held = std::move(held_);
  if (held && is_open()) dispatch_packets(held->data(), held->size());
}

void Connection::release_publishes() {
  publishes_held_ = false;
  if (!is_open()) return;
  last_received_ms = broker_->clock().now_ms();  // held time is not the client's silence
  std::unique_ptr<std::string> held = std::move(held_);
  // Frames that get held again (the broker held us once more) go back into held_ in order.
  if (held) dispatch_packets(held->data(), held->size());
  if ((!held_ || held_->size() <= kMaxHeldBytes) && reading_stopped_ && is_open()) {
    reading_stopped_ = false;
    uv_read_start(reinterpret_cast<uv_stream_t*>(&handle_), &Connection::on_alloc,
                  &Connection::on_read);
  }
}

void Connection::new_out_buffer() {
  out_ = std::make_unique<OutBuffer>();
  out_->adopt(broker_->take_spare_buffer());
}

void Connection::send(std::string_view bytes) {
  if (!is_open()) return;
  out().append(bytes);
  mark_dirty();
}

void Connection::send_shared(SharedBytes bytes) {
  if (!is_open()) return;
  out().append_shared(std::move(bytes));
  mark_dirty();
}

void Connection::mark_dirty() {
  if (dirty_) return;
  dirty_ = true;
  broker_->schedule_flush(this);
}

void Connection::flush() {
  dirty_ = false;
  if (state_ == State::kClosed || !out_ || out_->empty()) return;
  auto request = std::make_unique<WriteRequest>();
  request->batch = out_->take();
  out_.reset();  // idle connections hold no output buffer
  request->connection = this;
  std::vector<uv_buf_t>& bufs = broker_->iov_scratch();
  request->batch.to_bufs(&bufs);
  auto* stream = reinterpret_cast<uv_stream_t*>(&handle_);
  size_t total = request->batch.total;
  int written = uv_try_write(stream, bufs.data(), static_cast<unsigned>(bufs.size()));
  if (written == UV_EAGAIN) written = 0;
  if (written < 0) {
    log::debug("connection {} write error: {}", peer(), uv_strerror(written));
    close(false);
    return;
  }
  broker_->count_bytes_sent(static_cast<uint64_t>(written));
  if (static_cast<size_t>(written) == total) {
    broker_->give_spare_buffer(std::move(request->batch.owned));
    broker_->on_connection_drained(*this);
    return;
  }
  // Skip what the socket took; queue the rest (uv_write copies the buf array).
  size_t skip = static_cast<size_t>(written);
  size_t first = 0;
  while (skip > 0 && skip >= bufs[first].len) skip -= bufs[first++].len;
  bufs[first].base += skip;
  bufs[first].len -= skip;
  request->bytes = total - static_cast<size_t>(written);
  request->req.data = request.get();
  int rc = uv_write(&request->req, stream, bufs.data() + first,
                    static_cast<unsigned>(bufs.size() - first), &Connection::on_write);
  if (rc != 0) {
    close(false);
    return;
  }
  bytes_in_write_ += request->bytes;
  request.release();  // owned by libuv until on_write
}

void Connection::on_write(uv_write_t* req, int status) {
  std::unique_ptr<WriteRequest> request(static_cast<WriteRequest*>(req->data));
  Connection* self = request->connection;
  self->bytes_in_write_ -= request->bytes;
  self->broker_->give_spare_buffer(std::move(request->batch.owned));
  if (status == 0) {
    self->broker_->count_bytes_sent(request->bytes);
    self->broker_->on_connection_drained(*self);
  } else if (status != UV_ECANCELED) {
    self->close(false);
  }
}

void Connection::close(bool flush_first) {
  if (!is_open()) return;
  state_ = State::kClosing;
  uv_read_stop(reinterpret_cast<uv_stream_t*>(&handle_));
  broker_->on_connection_closing(*this);
  if (flush_first) {
    flush();
    // Everything went to the kernel (the usual case, and always after a client's DISCONNECT,
    // which the broker answers with nothing): close() sends it and then the FIN itself, so
    // the shutdown() syscall and its extra loop turn are not needed.
    if (bytes_in_write_ == 0 &&
        uv_stream_get_write_queue_size(reinterpret_cast<uv_stream_t*>(&handle_)) == 0) {
      close_handle();
      return;
    }
    // uv_shutdown completes after queued writes, then the handle is closed.
    auto req = std::make_unique<uv_shutdown_t>();
    req->data = this;
    if (uv_shutdown(req.get(), reinterpret_cast<uv_stream_t*>(&handle_),
                    &Connection::on_shutdown) == 0) {
      req.release();
      return;
    }
  }
  close_handle();
}

void Connection::on_shutdown(uv_shutdown_t* req, int) {
  std::unique_ptr<uv_shutdown_t> owned(req);
  static_cast<Connection*>(req->data)->close_handle();
}

void Connection::close_handle() {
  if (!handle_open_) return;
  handle_open_ = false;
  state_ = State::kClosed;
  uv_close(reinterpret_cast<uv_handle_t*>(&handle_), &Connection::on_close);
}

void Connection::on_close(uv_handle_t* handle) {
  auto* self = static_cast<Connection*>(handle->data);
  self->broker_->release_connection(self);  // destroys *self
}

}  // namespace topicdb::broker
