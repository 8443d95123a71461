#include "tests/integration/raw_client.h"
#include "tests/integration/deadline.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

namespace topicdb::itest {
namespace {

using Clock = std::chrono::steady_clock;

// Socket writes use MSG_NOSIGNAL, but third-party clients may not: never let a closed
// peer kill the test binary.
const bool kSigpipeIgnored = [] {
  std::signal(SIGPIPE, SIG_IGN);
  return true;
}();

}  // namespace

RawClient::~RawClient() { close(); }

void RawClient::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void RawClient::abort_with_reset() {
  if (fd_ < 0) return;
  linger option{};
  option.l_onoff = 1;
  option.l_linger = 0;
  setsockopt(fd_, SOL_SOCKET, SO_LINGER, &option, sizeof(option));
}

::testing::AssertionResult RawClient::connect(uint16_t port, milliseconds timeout) {
  (void)kSigpipeIgnored;
  close();
  buffer_.clear();
  peer_closed_ = false;
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd_ < 0) return ::testing::AssertionFailure() << "socket(): " << std::strerror(errno);
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int rc = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  if (rc != 0 && errno != EINPROGRESS) {
    int err = errno;
    close();
    return ::testing::AssertionFailure()
           << "connect(127.0.0.1:" << port << "): " << std::strerror(err);
  }
  if (rc != 0) {
    pollfd pfd{fd_, POLLOUT, 0};
    int n = ::poll(&pfd, 1, static_cast<int>(timeout.count()));
    if (n <= 0) {
      close();
      return ::testing::AssertionFailure() << "connect(127.0.0.1:" << port << ") timed out";
    }
    int err = 0;
    socklen_t len = sizeof(err);
    ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      close();
      return ::testing::AssertionFailure()
             << "connect(127.0.0.1:" << port << "): " << std::strerror(err);
    }
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult RawClient::send(const Bytes& bytes) {
  if (fd_ < 0) return ::testing::AssertionFailure() << "send on a closed RawClient";
  size_t sent = 0;
  auto deadline = Clock::now() + milliseconds(5000);
  while (sent < bytes.size()) {
    ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd pfd{fd_, POLLOUT, 0};
      if (::poll(&pfd, 1, remaining_ms(deadline)) <= 0) {
        return ::testing::AssertionFailure()
               << "send timed out after " << sent << "/" << bytes.size() << " bytes";
      }
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    return ::testing::AssertionFailure() << "send failed after " << sent << "/" << bytes.size()
                                         << " bytes: " << std::strerror(errno);
  }
  return ::testing::AssertionSuccess();
}

bool RawClient::fill(Clock::time_point deadline) {
  if (fd_ < 0 || peer_closed_) return false;
  while (true) {
    uint8_t buf[16384];
    ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n > 0) {
      buffer_.insert(buffer_.end(), buf, buf + n);
      return true;
    }
    if (n == 0) {
      peer_closed_ = true;
      return false;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      // ECONNRESET and friends: the peer is gone.
      peer_closed_ = true;
      return false;
    }
    int wait = remaining_ms(deadline);
    if (wait == 0) return false;
    pollfd pfd{fd_, POLLIN, 0};
    int p = ::poll(&pfd, 1, wait);
    if (p == 0) return false;
    if (p < 0 && errno != EINTR) return false;
  }
}

std::optional<Bytes> RawClient::recv_exact(size_t n, milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (buffer_.size() < n) {
    if (!fill(deadline)) return std::nullopt;
  }
  Bytes out(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(n));
  buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(n));
  return out;
}

std::optional<Packet> RawClient::recv_packet(milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (true) {
    // Try to parse a complete packet from the buffer.
    if (buffer_.size() >= 2) {
      size_t length = 0;
      size_t multiplier = 1;
      size_t pos = 1;
      bool complete_length = false;
      while (pos < buffer_.size() && pos <= 4) {
        uint8_t byte = buffer_[pos++];
        length += (byte & 0x7F) * multiplier;
        multiplier *= 128;
        if ((byte & 0x80) == 0) {
          complete_length = true;
          break;
        }
      }
      if (!complete_length && pos > 4) return std::nullopt;  // malformed length from broker
      if (complete_length && buffer_.size() >= pos + length) {
        Packet packet;
        packet.header = buffer_[0];
        packet.body.assign(buffer_.begin() + static_cast<std::ptrdiff_t>(pos),
                           buffer_.begin() + static_cast<std::ptrdiff_t>(pos + length));
        buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(pos + length));
        return packet;
      }
    }
    if (!fill(deadline)) return std::nullopt;
  }
}

std::optional<Packet> RawClient::recv_packet_of_type(uint8_t type, milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (true) {
    auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return std::nullopt;
    auto packet = recv_packet(left);
    if (!packet) return std::nullopt;
    if (packet->type() == type) return packet;
    skipped_.push_back(*packet);
  }
}

bool RawClient::wait_closed(milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (!peer_closed_) {
    buffer_.clear();
    if (!fill(deadline) && !peer_closed_) return false;
  }
  return true;
}

::testing::AssertionResult RawClient::mqtt_connect(uint16_t port, const ConnectSpec& spec,
                                                   bool* session_present) {
  if (auto r = connect(port); !r) return r;
  if (auto r = send(connect_packet(spec)); !r) return r;
  auto packet = recv_packet(milliseconds(3000));
  if (!packet) {
    return ::testing::AssertionFailure()
           << "no CONNACK for client id '" << spec.client_id << "' within 3 s"
           << (peer_closed_ ? " (connection closed by the broker)" : "");
  }
  if (packet->type() != kConnack || packet->body.size() != 2) {
    return ::testing::AssertionFailure() << "expected CONNACK, got " << describe(*packet);
  }
  if (packet->body[1] != 0) {
    return ::testing::AssertionFailure()
           << "CONNACK return code " << static_cast<int>(packet->body[1]) << " for client id '"
           << spec.client_id << "'";
  }
  if (session_present) *session_present = (packet->body[0] & 0x01) != 0;
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult RawClient::mqtt_subscribe(
    uint16_t packet_id, const std::vector<std::pair<std::string, uint8_t>>& filters,
    const std::vector<uint8_t>& expected_granted) {
  if (auto r = send(subscribe_packet(packet_id, filters)); !r) return r;
  auto packet = recv_packet_of_type(kSuback, milliseconds(3000));
  if (!packet) {
    return ::testing::AssertionFailure()
           << "no SUBACK within 3 s" << (peer_closed_ ? " (connection closed)" : "");
  }
  if (packet->packet_id() != packet_id) {
    return ::testing::AssertionFailure()
           << "SUBACK for packet id " << packet->packet_id() << ", expected " << packet_id;
  }
  if (!expected_granted.empty()) {
    Bytes granted(packet->body.begin() + 2, packet->body.end());
    if (granted != Bytes(expected_granted.begin(), expected_granted.end())) {
      return ::testing::AssertionFailure()
             << "SUBACK granted [" << hex(granted) << "], expected ["
             << hex(Bytes(expected_granted.begin(), expected_granted.end())) << "]";
    }
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult RawClient::mqtt_ping(milliseconds timeout) {
  if (auto r = send(pingreq_packet()); !r) return r;
  auto packet = recv_packet(timeout);
  if (!packet) {
    return ::testing::AssertionFailure()
           << "no PINGRESP within " << timeout.count() << " ms"
           << (peer_closed_ ? " (connection closed by the broker)" : "");
  }
  if (packet->type() != kPingresp || !packet->body.empty()) {
    return ::testing::AssertionFailure() << "expected PINGRESP, got " << describe(*packet);
  }
  return ::testing::AssertionSuccess();
}

}  // namespace topicdb::itest
