// TcpStream over a real loopback socket: shutdown_and_drain lets a peer that is still
// writing read everything we sent, then EOF, while its input is discarded.
#include "net/tcp_stream.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "net/listener.h"

namespace topicdb::net {
namespace {

class TcpRecordingOwner final : public StreamOwner, public StreamAcceptor {
 public:
  void adopt(std::unique_ptr<Stream> s) override {
    stream = std::move(s);
    stream->set_owner(this);
    stream->start_reading();
  }
  void on_stream_data(std::string_view bytes) override { received += bytes.size(); }
  void on_stream_written(size_t) override {}
  void on_stream_end(End) override { ++ends; }
  void on_stream_closed() override { closed = true; }

  std::unique_ptr<Stream> stream;
  size_t received = 0;
  int ends = 0;
  bool closed = false;
};

class TcpStreamTest : public ::testing::Test {
 protected:
  TcpStreamTest() { uv_loop_init(&loop_); }
  ~TcpStreamTest() override {
    if (client_ >= 0) ::close(client_);
    if (owner_.stream && !owner_.closed) owner_.stream->abort();
    bool listener_closed = listener_ == nullptr;
    if (listener_) listener_->close([&] { listener_closed = true; });
    run_until([&] { return listener_closed && (!owner_.stream || owner_.closed); },
              std::chrono::seconds(3));
    owner_.stream.reset();
    listener_.reset();
    uv_loop_close(&loop_);
  }

  // Runs the loop until `done` or the timeout; returns done().
  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (!done() && std::chrono::steady_clock::now() < end) {
      uv_run(&loop_, UV_RUN_NOWAIT);
      ::poll(nullptr, 0, 1);
    }
    return done();
  }

  void connect_client() {
    listener_ = std::make_unique<Listener>(&loop_, &owner_);
    auto bound = listener_->start("127.0.0.1", 0);
    ASSERT_TRUE(bound.is_ok());
    const int port = std::stoi(bound->substr(bound->rfind(':') + 1));
    client_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(client_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    ::fcntl(client_, F_SETFL, O_NONBLOCK);
    ASSERT_TRUE(run_until([&] { return owner_.stream != nullptr; }, std::chrono::seconds(3)));
  }

  // Reads what is there without blocking; true once EOF was seen.
  bool client_read(std::string* into) {
    char buf[4096];
    for (;;) {
      ssize_t n = ::recv(client_, buf, sizeof(buf), 0);
      if (n > 0) {
        into->append(buf, static_cast<size_t>(n));
      } else {
        return n == 0;
      }
    }
  }

  uv_loop_t loop_;
  LoopBuffers buffers_{&loop_};
  TcpRecordingOwner owner_;
  std::unique_ptr<Listener> listener_;
  int client_ = -1;
};

TEST_F(TcpStreamTest, ShutdownAndDrainDeliversOurBytesAndDiscardsTheirs) {
  connect_client();
  owner_.stream->out().append("last words");
  owner_.stream->shutdown_and_drain();
  std::string got;
  bool eof = false;
  ASSERT_TRUE(run_until([&] { return eof = eof || client_read(&got); }, std::chrono::seconds(3)))
      << "no EOF after the write side was shut";
  EXPECT_EQ(got, "last words");

  // The peer keeps writing: nothing reaches the owner, the stream stays open and the
  // peer's writes keep succeeding (no reset).
  const std::string chunk(16 * 1024, 'x');
  for (int i = 0; i < 64; ++i) {
    ASSERT_EQ(::send(client_, chunk.data(), chunk.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(chunk.size()))
        << "write " << i << " failed: the stream stopped draining";
    run_until([] { return false; }, std::chrono::milliseconds(2));
  }
  EXPECT_EQ(owner_.received, 0u);
  EXPECT_FALSE(owner_.closed);

  ::shutdown(client_, SHUT_WR);  // the peer closes: the drain ends and the stream closes
  EXPECT_TRUE(run_until([&] { return owner_.closed; }, std::chrono::seconds(3)));
  EXPECT_EQ(owner_.ends, 0) << "the end of a drain is not reported as the peer's end";
}

// close() ends a drain at once (the owner's time limit).
TEST_F(TcpStreamTest, CloseEndsADrain) {
  connect_client();
  owner_.stream->out().append("bye");
  owner_.stream->shutdown_and_drain();
  ASSERT_TRUE(run_until(
      [&] {
        std::string ignored;
        return client_read(&ignored);
      },
      std::chrono::seconds(3)));
  EXPECT_FALSE(owner_.closed);
  owner_.stream->close(true);
  EXPECT_TRUE(run_until([&] { return owner_.closed; }, std::chrono::seconds(3)));
}

}  // namespace
}  // namespace topicdb::net
