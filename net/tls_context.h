// TlsContext: the server side of TLS for one listener configuration: certificate, key,
// optional CA for client certificates, TLS 1.2 or newer only. Loaded once at start-up (a
// bad file is an error then, not at the first handshake); each TlsStream takes an SSL from it.
#pragma once

#include <memory>
#include <string>

#include "base/status.h"

typedef struct ssl_ctx_st SSL_CTX;

namespace topicdb::net {

struct TlsOptions {
  std::string cert_file;  // PEM, the server certificate (and its chain)
  std::string key_file;   // PEM, its private key
  std::string ca_file;    // PEM; empty = client certificates are not asked for
  // Mutual TLS: a client without a certificate the CA signed fails the handshake.
  bool require_client_cert = false;
  // The verified client certificate's CN becomes the MQTT user name (needs
  // require_client_cert, so every connection has one).
  bool cert_as_username = false;
};

class TlsContext {
 public:
  // The server side (a listener's).
  static Result<std::unique_ptr<TlsContext>> create(const TlsOptions& options);
  // The client side (tests, later node-to-node links): verifies the server against ca_file
  // when given; presents cert_file/key_file when given. TLS 1.2 or newer.
  static Result<std::unique_ptr<TlsContext>> create_client(const TlsOptions& options);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  SSL_CTX* ssl_ctx() const { return ctx_; }
  bool cert_as_username() const { return cert_as_username_; }

 private:
  TlsContext(SSL_CTX* ctx, bool cert_as_username)
      : ctx_(ctx), cert_as_username_(cert_as_username) {}

  SSL_CTX* ctx_;
  bool cert_as_username_;
};

// The newest OpenSSL error as text ("" if none), and clears the queue.
std::string openssl_error_text();

}  // namespace topicdb::net
