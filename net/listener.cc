#include "net/listener.h"

#include <utility>

#include "base/log.h"
#include "net/tcp_stream.h"

namespace topicdb::net {

Listener::Listener(uv_loop_t* loop, StreamAcceptor* acceptor, StreamWrap wrap, uint8_t tag)
    : loop_(loop), acceptor_(acceptor), wrap_(std::move(wrap)), tag_(tag) {}
Listener::~Listener() = default;

Result<std::string> Listener::start(const std::string& host, int port) {
  sockaddr_storage addr{};
  bool v6 = host.find(':') != std::string::npos;
  int rc = v6 ? uv_ip6_addr(host.c_str(), port, reinterpret_cast<sockaddr_in6*>(&addr))
              : uv_ip4_addr(host.c_str(), port, reinterpret_cast<sockaddr_in*>(&addr));
  if (rc != 0) return Status::invalid_argument("invalid listen address '" + host + "'");
  uv_tcp_init(loop_, &handle_);
  handle_.data = this;
  open_ = true;
  rc = uv_tcp_bind(&handle_, reinterpret_cast<sockaddr*>(&addr), 0);
  if (rc == 0) {
    rc = uv_listen(reinterpret_cast<uv_stream_t*>(&handle_), 1024, &Listener::on_connection);
  }
  if (rc != 0) {
    return Status::io_error("cannot listen on " + host + ":" + std::to_string(port) + ": " +
                            uv_strerror(rc));
  }
  sockaddr_storage bound{};
  int len = sizeof(bound);
  uv_tcp_getsockname(&handle_, reinterpret_cast<sockaddr*>(&bound), &len);
  int bound_port = v6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                      : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(bound_port);
}

void Listener::on_connection(uv_stream_t* server, int status) {
  auto* self = static_cast<Listener*>(server->data);
  if (status < 0) {
    log::warn("accept failed: {}", uv_strerror(status));
    return;
  }
  std::unique_ptr<TcpStream> stream = TcpStream::accept(server);
  if (!stream) return;
  if (self->wrap_) {
    self->acceptor_->adopt_tagged(self->wrap_(std::move(stream)), self->tag_);
  } else {
    self->acceptor_->adopt_tagged(std::move(stream), self->tag_);
  }
}

void Listener::close(std::function<void()> closed) {
  if (!open_) {
    if (closed) closed();
    return;
  }
  open_ = false;
  closed_ = std::move(closed);
  uv_close(reinterpret_cast<uv_handle_t*>(&handle_), &Listener::on_close);
}

void Listener::on_close(uv_handle_t* handle) {
  auto* self = static_cast<Listener*>(handle->data);
  if (self->closed_) self->closed_();
}

}  // namespace topicdb::net
