#include "net/http_server.h"

#include <cassert>

#include "base/log.h"

namespace topicdb::net {

const char* reason_phrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
  }
  return "";
}

std::string serialize_response(const HttpResponse& response, bool head_only) {
  std::string out =
      "HTTP/1.1 " + std::to_string(response.status) + " " + reason_phrase(response.status) + "\r\n";
  out += "Content-Type: " + response.content_type + "\r\n";
  out += "Content-Length: " + std::to_string(response.body.size()) + "\r\n";
  for (const auto& [name, value] : response.headers) out += name + ": " + value + "\r\n";
  // One request per connection: the client knows not to send another.
  out += "Connection: close\r\n\r\n";
  if (!head_only) out += response.body;
  return out;
}

// One connection: reads a request head, answers it, then closes.
class HttpServer::Exchange final : public StreamOwner {
 public:
  Exchange(HttpServer* server, std::unique_ptr<Stream> stream)
      : server_(server),
        stream_(std::move(stream)),
        parser_(server->options_.max_head_bytes),
        deadline_(server->clock_->make_timer()) {
    stream_->set_owner(this);
  }

  void start() {
    // Bounds everything, the linger after the answer included: then the socket is cut.
    deadline_->start(server_->options_.request_timeout_ms, 0, [this] { stream_->abort(); });
    if (!stream_->start_reading()) {
      stream_->abort();
      return;
    }
    stream_->read_now();
  }
  void cut() { stream_->abort(); }

 private:
  void on_stream_data(std::string_view bytes) override {
    if (answered_) return;
    switch (parser_.feed(bytes)) {
      case HttpRequestParser::State::kIncomplete:
        return;
      case HttpRequestParser::State::kError: {
        log::debug("http {}: {}", stream_->peer(), parser_.error());
        HttpResponse error;
        error.status = parser_.error_status();
        error.body = parser_.error() + "\n";
        answer(error, false);
        return;
      }
      case HttpRequestParser::State::kComplete:
        break;
    }
    const HttpRequest& request = parser_.request();
    const bool head = request.method == "HEAD";
    if (request.method != "GET" && !head) {
      HttpResponse refused;
      refused.status = 405;
      refused.body = "only GET and HEAD are served\n";
      refused.headers.emplace_back("Allow", "GET, HEAD");
      answer(refused, false);
      return;
    }
    answer(server_->handler_(request), head);
  }

  void answer(const HttpResponse& response, bool head_only) {
    answered_ = true;
    stream_->out().append(serialize_response(response, head_only));
    // Writes the answer, shuts our side and reads until the client closes: closing with its
    // unread bytes pending would send a reset that can destroy the answer at the client.
    stream_->shutdown_and_drain();
  }

  void on_stream_written(size_t) override {}
  void on_stream_end(End) override { stream_->close(answered_); }
  void on_stream_closed() override { server_->release(this); }  // destroys this

  HttpServer* server_;
  std::unique_ptr<Stream> stream_;
  HttpRequestParser parser_;
  std::unique_ptr<Timer> deadline_;
  bool answered_ = false;
};

HttpServer::HttpServer(uv_loop_t* loop, Clock* clock, Handler handler, Options options)
    : loop_(loop), clock_(clock), handler_(std::move(handler)), options_(options) {}

HttpServer::~HttpServer() { assert(exchanges_.empty()); }

Result<std::string> HttpServer::listen(const std::string& host, int port) {
  listener_ = std::make_unique<Listener>(loop_, this);
  return listener_->start(host, port);  // closed by close() even if this failed
}

void HttpServer::adopt(std::unique_ptr<Stream> stream) {
  auto owned = std::make_unique<Exchange>(this, std::move(stream));
  Exchange* exchange = owned.get();
  exchanges_.emplace(exchange, std::move(owned));
  if (closing_ || exchanges_.size() > options_.max_connections) {
    exchange->cut();
    return;
  }
  exchange->start();
}

void HttpServer::release(Exchange* exchange) {
  exchanges_.erase(exchange);
  maybe_closed();
}

void HttpServer::close(std::function<void()> done) {
  if (closing_) return;
  closing_ = true;
  closed_ = std::move(done);
  for (auto& [raw, exchange] : exchanges_) exchange->cut();
  if (listener_) {
    listener_->close([this] {
      listener_closed_ = true;
      maybe_closed();
    });
  } else {
    listener_closed_ = true;
    maybe_closed();
  }
}

void HttpServer::maybe_closed() {
  if (!closing_ || !listener_closed_ || !exchanges_.empty() || !closed_) return;
  std::exchange(closed_, nullptr)();
}

}  // namespace topicdb::net
