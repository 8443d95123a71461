// One raw HTTP exchange over a real TCP socket, for the tests of the broker's HTTP-speaking
// listeners (/metrics, the WebSocket upgrade): exactly the bytes given, no client library
// that would fix a malformed request on the way. Header-only.
#ifndef TOPICDB_TESTS_INTEGRATION_RAW_HTTP_H_
#define TOPICDB_TESTS_INTEGRATION_RAW_HTTP_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <string>

namespace topicdb::itest {

// Sends `request` on a fresh connection to 127.0.0.1:port and reads until the server closes
// (at most 5 s).
inline std::string http_exchange(uint16_t port, const std::string& request) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  std::string answer;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::send(fd, request.data(), request.size(), 0) == static_cast<ssize_t>(request.size())) {
    char buf[16384];
    ssize_t n;
    while ((n = ::recv(fd, buf, sizeof(buf), 0)) > 0) answer.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return answer;
}

}  // namespace topicdb::itest

#endif  // TOPICDB_TESTS_INTEGRATION_RAW_HTTP_H_
