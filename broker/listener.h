// Listener: one bound TCP socket accepting MQTT connections for the Broker.
#pragma once

#include <functional>
#include <string>

#include <uv.h>

#include "base/status.h"

namespace topicdb::broker {

class Broker;

class Listener {
 public:
  explicit Listener(Broker* broker);
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

  Broker* broker_;
  uv_tcp_t handle_;
  bool open_ = false;
  std::function<void()> closed_;
};

}  // namespace topicdb::broker
