// HttpServer: a small HTTP/1.1 server on the loop thread for operator endpoints (GET
// /metrics): one request per connection, its head bounded, answered by a handler on the loop
// thread, and the connection closed after the answer. A client that does not finish within
// the deadline is cut off, so none can hold a connection slot for long.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <uv.h>

#include "base/clock.h"
#include "base/status.h"
#include "net/http_request.h"
#include "net/listener.h"

namespace topicdb::net {

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // e.g. {"Allow", "GET, HEAD"}
};

// "HTTP/1.1 404 Not Found" and the rest of the head, then the body (none for HEAD).
std::string serialize_response(const HttpResponse& response, bool head_only);
// The reason phrase of the statuses served here ("Not Found"); "" for others.
const char* reason_phrase(int status);

struct HttpServerOptions {
  size_t max_head_bytes = 8192;        // a longer request head is answered 431
  size_t max_connections = 64;         // connections beyond it are closed at once
  int64_t request_timeout_ms = 10000;  // from accept to the answer written and the close
};

class HttpServer final : public StreamAcceptor {
 public:
  using Options = HttpServerOptions;
  // Answers one complete request (GET or HEAD; the server answers other methods 405 itself).
  using Handler = std::function<HttpResponse(const HttpRequest&)>;

  // Borrows `loop` (with LoopBuffers attached) and `clock`; both must outlive the server.
  HttpServer(uv_loop_t* loop, Clock* clock, Handler handler, Options options = {});
  // close() must have finished first (its callback ran) once listen() or adopt() was used.
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds a listener; returns the bound "host:port" (port 0 picks a free one).
  Result<std::string> listen(const std::string& host, int port);
  // Serves one client over `stream` (from the listener, or a MemoryStream in tests).
  void adopt(std::unique_ptr<Stream> stream) override;
  // Stops listening and cuts every connection; `done` runs once all of it is closed.
  void close(std::function<void()> done);

  size_t connection_count() const { return exchanges_.size(); }

 private:
  class Exchange;
  void release(Exchange* exchange);
  void maybe_closed();

  uv_loop_t* loop_;
  Clock* clock_;
  Handler handler_;
  Options options_;
  std::unique_ptr<Listener> listener_;
  std::unordered_map<Exchange*, std::unique_ptr<Exchange>> exchanges_;
  bool closing_ = false;
  bool listener_closed_ = false;
  std::function<void()> closed_;
};

}  // namespace topicdb::net
