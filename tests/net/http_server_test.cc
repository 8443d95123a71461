// HttpServer over in-memory streams with a manual clock: answers, refusals, the deadline,
// the connection bound and close.
#include "net/http_server.h"

#include <gtest/gtest.h>
#include <uv.h>

#include <memory>
#include <string>
#include <vector>

#include "base/manual_clock.h"
#include "net/memory_stream.h"

namespace topicdb::net {
namespace {

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override { make_server({}); }
  void TearDown() override {
    server_->close(nullptr);
    for (MemoryStream*& s : streams_) finish(s);
    EXPECT_EQ(server_->connection_count(), 0u);
  }
  void make_server(HttpServerOptions options) {
    server_ = std::make_unique<HttpServer>(
        &loop_, &clock_,
        [this](const HttpRequest& request) {
          requests_.push_back(request.target);
          HttpResponse response;
          if (request.path == "/metrics") {
            response.body = "up 1\n";
          } else {
            response.status = 404;
            response.body = "no\n";
          }
          return response;
        },
        options);
  }
  // A new client connection; the pointer is valid until finish() closes it.
  MemoryStream* connect() {
    auto stream = std::make_unique<MemoryStream>(&buffers_);
    MemoryStream* raw = stream.get();
    streams_.push_back(raw);
    server_->adopt(std::move(stream));
    return raw;
  }
  // Runs libuv's close callback for a closed stream (which destroys it).
  void finish(MemoryStream*& s) {
    if (s != nullptr && s->closed()) {
      MemoryStream* gone = s;
      s = nullptr;
      gone->finish_close();
    }
  }

  uv_loop_t loop_{};  // never run: the listener is not used here
  LoopBuffers buffers_;
  ManualClock clock_;
  std::unique_ptr<HttpServer> server_;
  std::vector<MemoryStream*> streams_;
  std::vector<std::string> requests_;
};

TEST_F(HttpServerTest, AnswersAGetAndClosesAfterTheAnswer) {
  MemoryStream* s = connect();
  s->push("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_EQ(requests_.size(), 1u);
  EXPECT_EQ(s->written(),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: "
            "5\r\nConnection: close\r\n\r\nup 1\n");
  EXPECT_TRUE(s->write_shut()) << "our side is shut once the answer is written";
  EXPECT_FALSE(s->closed()) << "reads on until the client closes (no reset)";
  s->push_eof();
  EXPECT_TRUE(s->closed());
  finish(streams_[0]);
  EXPECT_EQ(server_->connection_count(), 0u);
}

TEST_F(HttpServerTest, OtherPathsGetTheHandlersAnswerAndHeadGetsNoBody) {
  MemoryStream* s = connect();
  s->push("GET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(s->written().rfind("HTTP/1.1 404 Not Found\r\n", 0), 0u) << s->written();
  MemoryStream* h = connect();
  h->push("HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  const std::string& head = h->written();
  EXPECT_NE(head.find("Content-Length: 5\r\n"), std::string::npos) << head;
  EXPECT_TRUE(head.ends_with("\r\n\r\n")) << "HEAD: no body";
}

TEST_F(HttpServerTest, OtherMethodsAre405AndGarbageIs400WithoutTheHandler) {
  MemoryStream* post = connect();
  post->push("POST /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(post->written().rfind("HTTP/1.1 405 Method Not Allowed\r\n", 0), 0u);
  EXPECT_NE(post->written().find("Allow: GET, HEAD\r\n"), std::string::npos);
  MemoryStream* junk = connect();
  junk->push(std::string("\x10\x0c\x00\x04MQTT\r\n\r\n", 12));
  EXPECT_EQ(junk->written().rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u) << junk->written();
  EXPECT_TRUE(requests_.empty());
}

TEST_F(HttpServerTest, AnOversizedHeadIs431) {
  MemoryStream* s = connect();
  s->push("GET /metrics HTTP/1.1\r\nX: " + std::string(9000, 'a'));
  EXPECT_EQ(s->written().rfind("HTTP/1.1 431 ", 0), 0u) << s->written().substr(0, 40);
  EXPECT_TRUE(requests_.empty());
}

TEST_F(HttpServerTest, AClientThatNeverFinishesIsCutAtTheDeadline) {
  MemoryStream* s = connect();
  s->push("GET /metrics HTTP/1.1\r\n");
  clock_.advance_ms(9'999);
  EXPECT_FALSE(s->closing());
  clock_.advance_ms(1);
  EXPECT_TRUE(s->closed());
  EXPECT_TRUE(s->written().empty());
  finish(streams_[0]);
  EXPECT_EQ(server_->connection_count(), 0u);
  // The linger after an answer is bounded by the same deadline.
  MemoryStream* lingering = connect();
  lingering->push("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_FALSE(lingering->closed());
  clock_.advance_ms(10'000);
  EXPECT_TRUE(lingering->closed());
}

TEST_F(HttpServerTest, ConnectionsBeyondTheBoundAreClosedAtOnce) {
  server_->close(nullptr);
  make_server({.max_connections = 1});
  MemoryStream* first = connect();
  MemoryStream* second = connect();
  EXPECT_FALSE(first->closing());
  EXPECT_TRUE(second->closed());
  EXPECT_TRUE(second->written().empty());
  finish(streams_[1]);
  EXPECT_EQ(server_->connection_count(), 1u);
}

TEST_F(HttpServerTest, CloseCutsOpenConnectionsAndReportsOnceAllAreClosed) {
  MemoryStream* s = connect();
  s->push("GET /met");
  bool closed = false;
  server_->close([&] { closed = true; });
  EXPECT_TRUE(s->closed());
  EXPECT_FALSE(closed) << "before the stream's close callback";
  finish(streams_[0]);
  EXPECT_TRUE(closed);
  // Later connections are refused.
  MemoryStream* late = connect();
  EXPECT_TRUE(late->closed());
}

}  // namespace
}  // namespace topicdb::net
