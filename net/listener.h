// Listener: one bound TCP socket; each accepted connection becomes a TcpStream handed to a
// StreamAcceptor (the broker), which owns it from then on.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <uv.h>

#include "base/status.h"
#include "net/stream.h"

namespace topicdb::net {

class StreamAcceptor {
 public:
  // Takes a new, not yet reading stream; the acceptor sets its owner and starts it.
  virtual void adopt(std::unique_ptr<Stream> stream) = 0;
  // The same with the tag of the listener that accepted it (which kind of listener: the
  // broker counts traffic per kind); an acceptor that does not care ignores it.
  virtual void adopt_tagged(std::unique_ptr<Stream> stream, uint8_t /*tag*/) {
    adopt(std::move(stream));
  }

 protected:
  ~StreamAcceptor() = default;
};

// Puts a protocol over each accepted TCP stream before the acceptor gets it (TLS,
// WebSocket); a plain listener has none, so plain connections pay nothing for it.
using StreamWrap = std::function<std::unique_ptr<Stream>(std::unique_ptr<Stream>)>;

class Listener {
 public:
  // Borrows both; `loop` must have LoopBuffers attached. Each accepted stream goes to the
  // acceptor's adopt_tagged with `tag`.
  Listener(uv_loop_t* loop, StreamAcceptor* acceptor, StreamWrap wrap = nullptr, uint8_t tag = 0);
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  // Binds and listens; returns the bound "host:port".
  Result<std::string> start(const std::string& host, int port);
  // Stops accepting; `closed` runs once the handle is closed.
  void close(std::function<void()> closed);

 private:
  static void on_connection(uv_stream_t* server, int status);
  static void on_close(uv_handle_t* handle);

  uv_loop_t* loop_;
  StreamAcceptor* acceptor_;
  StreamWrap wrap_;
  uint8_t tag_;
  uv_tcp_t handle_;
  bool open_ = false;
  std::function<void()> closed_;
};

}  // namespace topicdb::net
