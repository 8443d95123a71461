// The TLS and WebSocket listener options (issue 16): flags, the same keys in a config file,
// and the combinations that make no sense refused at parse time.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "app/config.h"

namespace topicdb::app {
namespace {

TEST(TlsWsConfigTest, ListenersAndTlsFlags) {
  auto c = parse_serve_args({"--listen-tls", "127.0.0.1:0", "--listen-ws", "0.0.0.0:8080",
                             "--listen-wss=[::1]:8081", "--listen-ws", "127.0.0.1:9001",
                             "--tls-cert", "s.crt", "--tls-key", "s.key", "--tls-ca", "ca.crt",
                             "--tls-require-client-cert", "true", "--tls-cert-as-username", "yes"});
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  ASSERT_EQ(c->listen_tls.size(), 1u);
  EXPECT_EQ(c->listen_tls[0].port, 0);
  ASSERT_EQ(c->listen_ws.size(), 2u);
  EXPECT_EQ(c->listen_ws[1].port, 9001);
  ASSERT_EQ(c->listen_wss.size(), 1u);
  EXPECT_EQ(c->listen_wss[0].host, "::1");
  EXPECT_EQ(c->tls_cert, "s.crt");
  EXPECT_EQ(c->tls_key, "s.key");
  EXPECT_EQ(c->tls_ca, "ca.crt");
  EXPECT_TRUE(c->tls_require_client_cert);
  EXPECT_TRUE(c->tls_cert_as_username);
  // The plain listener keeps its default.
  ASSERT_EQ(c->listen.size(), 1u);
  EXPECT_EQ(c->listen[0].port, 1883);
}

TEST(TlsWsConfigTest, WebSocketAloneNeedsNoCertificate) {
  auto c = parse_serve_args({"--listen-ws", "127.0.0.1:0"});
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  EXPECT_EQ(c->listen_ws.size(), 1u);
}

TEST(TlsWsConfigTest, NonsenseCombinationsAreOneLineErrors) {
  auto no_key = parse_serve_args({"--listen-tls", "127.0.0.1:8883", "--tls-cert", "s.crt"});
  ASSERT_FALSE(no_key.is_ok());
  EXPECT_NE(no_key.status().message().find("--tls-key"), std::string::npos);
  EXPECT_FALSE(parse_serve_args({"--listen-wss", "127.0.0.1:8081"}).is_ok());
  auto no_ca = parse_serve_args({"--tls-require-client-cert", "true"});
  ASSERT_FALSE(no_ca.is_ok());
  EXPECT_NE(no_ca.status().message().find("--tls-ca"), std::string::npos);
  // Without required certificates the "CN" would be whatever a client claims.
  EXPECT_FALSE(parse_serve_args({"--tls-ca", "ca.crt", "--tls-cert-as-username", "true"}).is_ok());
  auto bad_port = parse_serve_args({"--listen-ws", "h:70000"});
  ASSERT_FALSE(bad_port.is_ok());
  EXPECT_NE(bad_port.status().message().find("--listen-ws"), std::string::npos);
  EXPECT_FALSE(parse_serve_args({"--tls-require-client-cert", "maybe"}).is_ok());
}

TEST(TlsWsConfigTest, ConfigFileKeys) {
  char path[] = "/tmp/topicdb-tls-config-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  {
    std::ofstream out(path);
    out << "listen-tls = 127.0.0.1:8883\nlisten-wss 127.0.0.1:8081\ntls-cert = /etc/s.crt\n"
           "tls-key = /etc/s.key\n";
  }
  auto c = parse_serve_args({"--config", path, "--listen-ws", "127.0.0.1:8080"});
  unlink(path);
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  ASSERT_EQ(c->listen_tls.size(), 1u);
  EXPECT_EQ(c->listen_tls[0].port, 8883);
  ASSERT_EQ(c->listen_wss.size(), 1u);
  ASSERT_EQ(c->listen_ws.size(), 1u);
  EXPECT_EQ(c->tls_cert, "/etc/s.crt");
  EXPECT_EQ(c->tls_key, "/etc/s.key");
}

}  // namespace
}  // namespace topicdb::app
