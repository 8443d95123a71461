#include "net/tcp_stream.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "base/log.h"

namespace topicdb::net {

struct TcpStream::WriteRequest {
  uv_write_t req;
  OutBuffer::Batch batch;
  TcpStream* stream;
  size_t bytes;
};

TcpStream::TcpStream(uv_loop_t* loop) {
  uv_tcp_init(loop, &handle_);
  handle_.data = this;
}

TcpStream::~TcpStream() = default;

std::unique_ptr<TcpStream> TcpStream::accept(uv_stream_t* server) {
  auto stream = std::make_unique<TcpStream>(server->loop);
  int rc = uv_accept(server, stream->stream());
  if (rc != 0) {
    log::warn("accept failed: {}", uv_strerror(rc));
    // libuv owns the handle until its close callback, which frees the stream.
    uv_close(stream.release()->handle(), [](uv_handle_t* h) {
      std::unique_ptr<TcpStream> owned(static_cast<TcpStream*>(h->data));
    });
    return nullptr;
  }
  uv_tcp_nodelay(&stream->handle_, 1);
  return stream;
}

std::string TcpStream::peer() const {
  if (handle_closing()) return "?";
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

bool TcpStream::start_reading() {
  if (handle_closing()) return false;
  return uv_read_start(stream(), &TcpStream::on_alloc, &TcpStream::on_read) == 0;
}

void TcpStream::stop_reading() {
  if (!handle_closing()) uv_read_stop(stream());
}

// MQTT clients speak first, and the CONNECT has usually arrived by the time the connection
// is accepted. Reading it at once answers with CONNACK in this loop turn, instead of after
// the epoll registration and another epoll_wait; if nothing is there yet, libuv's read
// watcher picks it up as usual.
void TcpStream::read_now() {
  uv_os_fd_t fd = -1;
  if (handle_closing() || uv_fileno(handle(), &fd) != 0) return;
  std::string& scratch = buffers().read_scratch();
  ssize_t n = recv(fd, scratch.data(), scratch.size(), 0);
  if (n > 0) {
    owner_->on_stream_data(std::string_view(scratch.data(), static_cast<size_t>(n)));
  } else if (n == 0) {
    owner_->on_stream_end(StreamOwner::End::kPeerClosed);  // closed without a word
  } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
    log::debug("connection {} read error: {}", peer(), std::strerror(errno));
    owner_->on_stream_end(StreamOwner::End::kReadError);
  }
}

// All streams read into one loop-wide buffer; only a frame split across reads is copied by
// the owner. An idle stream holds no read buffer.
void TcpStream::on_alloc(uv_handle_t* handle, size_t, uv_buf_t* buf) {
  std::string& scratch = LoopBuffers::of(handle->loop).read_scratch();
  *buf = uv_buf_init(scratch.data(), static_cast<unsigned>(scratch.size()));
}

void TcpStream::on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  auto* self = static_cast<TcpStream*>(stream->data);
  if (self->draining_) {
    // Lingering: input is dropped where it lands (the loop's scratch), so it costs no
    // memory; the peer closing, or failing, ends the linger.
    if (nread < 0) self->end_drain();
    return;
  }
  if (nread > 0) {
    self->owner_->on_stream_data(std::string_view(buf->base, static_cast<size_t>(nread)));
  } else if (nread < 0) {
    if (nread != UV_EOF) {
      log::debug("connection {} read error: {}", self->peer(), uv_strerror(nread));
    }
    self->owner_->on_stream_end(nread == UV_EOF ? StreamOwner::End::kPeerClosed
                                                : StreamOwner::End::kReadError);
  }
}

void TcpStream::flush() {
  if (handle_closing() || !out_ || out_->empty()) return;
  auto request = std::make_unique<WriteRequest>();
  request->batch = out_->take();
  out_.reset();  // idle streams hold no output buffer
  request->stream = this;
  LoopBuffers& loop_buffers = buffers();
  std::vector<uv_buf_t>& bufs = loop_buffers.iov_scratch();
  request->batch.to_bufs(&bufs);
  size_t total = request->batch.total;
  int written = uv_try_write(stream(), bufs.data(), static_cast<unsigned>(bufs.size()));
  if (written == UV_EAGAIN) written = 0;
  if (written < 0) {
    log::debug("connection {} write error: {}", peer(), uv_strerror(written));
    owner_->on_stream_end(StreamOwner::End::kWriteError);
    return;
  }
  if (static_cast<size_t>(written) == total) {
    loop_buffers.give_spare_buffer(std::move(request->batch.owned));
    owner_->on_stream_written(total);
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
  int rc = uv_write(&request->req, stream(), bufs.data() + first,
                    static_cast<unsigned>(bufs.size() - first), &TcpStream::on_write);
  if (rc != 0) {
    owner_->on_stream_end(StreamOwner::End::kWriteError);
    return;
  }
  bytes_in_write_ += static_cast<uint32_t>(request->bytes);
  request.release();  // owned by libuv until on_write
  if (written > 0) owner_->on_stream_written(static_cast<size_t>(written));
}

void TcpStream::on_write(uv_write_t* req, int status) {
  std::unique_ptr<WriteRequest> request(static_cast<WriteRequest*>(req->data));
  TcpStream* self = request->stream;
  self->bytes_in_write_ -= static_cast<uint32_t>(request->bytes);
  LoopBuffers::of(req->handle->loop).give_spare_buffer(std::move(request->batch.owned));
  if (status == 0) {
    self->owner_->on_stream_written(request->bytes);
  } else if (status != UV_ECANCELED) {
    self->owner_->on_stream_end(StreamOwner::End::kWriteError);
  }
}

void TcpStream::close(bool flush_first) {
  if (handle_closing()) return;
  stop_reading();
  if (draining_) {
    end_drain();  // the shutdown is queued already: flush_first is what it does
    return;
  }
  if (shutdown_in_progress_) return;  // closed already, once the queued writes are done
  if (flush_first) {
    flush();
    // Everything went to the kernel (the usual case, and always after a client's DISCONNECT,
    // which the broker answers with nothing): close() sends it and then the FIN itself, so
    // the shutdown() syscall and its extra loop turn are not needed.
    if (bytes_in_write_ == 0 && uv_stream_get_write_queue_size(stream()) == 0) {
      close_handle();
      return;
    }
    // uv_shutdown completes after queued writes, then the handle is closed.
    if (start_shutdown()) return;
  }
  close_handle();
}

bool TcpStream::start_shutdown() {
  auto req = std::make_unique<uv_shutdown_t>();
  req->data = this;
  if (uv_shutdown(req.get(), stream(), &TcpStream::on_shutdown) != 0) return false;
  req.release();
  shutdown_in_progress_ = true;
  return true;
}

void TcpStream::shutdown_and_drain() {
  if (handle_closing() || draining_) return;
  flush();
  if (handle_closing()) return;
  // The read callback stays the same; the flag makes it discard. Restarting it covers a
  // stream whose reading was stopped (back-pressure held its publisher).
  uv_read_stop(stream());
  if (!start_shutdown() ||
      uv_read_start(stream(), &TcpStream::on_alloc, &TcpStream::on_read) != 0) {
    close_handle();
    return;
  }
  draining_ = true;
}

// The peer closed (or failed) while we drained, or the owner ended the linger: close once
// our shutdown (and the writes before it) completed.
void TcpStream::end_drain() {
  draining_ = false;
  stop_reading();
  if (!shutdown_in_progress_) close_handle();
}

void TcpStream::on_shutdown(uv_shutdown_t* req, int status) {
  std::unique_ptr<uv_shutdown_t> owned(req);
  auto* self = static_cast<TcpStream*>(req->data);
  self->shutdown_in_progress_ = false;
  // While draining, the handle stays open for reading until the peer closes, unless the
  // shutdown failed (the connection is broken: there is nothing left to read).
  if (self->draining_ && status == 0) return;
  self->draining_ = false;
  self->close_handle();
}

void TcpStream::abort() { close_handle(); }

void TcpStream::close_handle() {
  if (handle_closing()) return;
  uv_close(handle(), &TcpStream::on_close);
}

void TcpStream::on_close(uv_handle_t* handle) {
  auto* self = static_cast<TcpStream*>(handle->data);
  self->owner_->on_stream_closed();  // may destroy *self
}

}  // namespace topicdb::net
