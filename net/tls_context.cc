#include "net/tls_context.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace topicdb::net {

std::string openssl_error_text() {
  unsigned long code = ERR_get_error();  // the oldest: usually the root cause
  std::string text;
  if (code != 0) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof(buf));
    text = buf;
  }
  ERR_clear_error();
  return text;
}

Result<std::unique_ptr<TlsContext>> TlsContext::create(const TlsOptions& options) {
  if (options.cert_file.empty() || options.key_file.empty()) {
    return Status::invalid_argument("TLS needs --tls-cert and --tls-key");
  }
  if (options.require_client_cert && options.ca_file.empty()) {
    return Status::invalid_argument("--tls-require-client-cert needs --tls-ca");
  }
  if (options.cert_as_username && !options.require_client_cert) {
    return Status::invalid_argument("--tls-cert-as-username needs --tls-require-client-cert true");
  }
  ERR_clear_error();
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr)
    return Status::internal("cannot create a TLS context: " + openssl_error_text());
  std::unique_ptr<TlsContext> context(new TlsContext(ctx, options.cert_as_username));
  // TLS 1.0 and 1.1 are deprecated (RFC 8996).
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  // Idle connections give their record buffers back: a broker holds many idle clients.
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
  if (SSL_CTX_use_certificate_chain_file(ctx, options.cert_file.c_str()) != 1) {
    return Status::invalid_argument("cannot load TLS certificate '" + options.cert_file +
                                    "': " + openssl_error_text());
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, options.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return Status::invalid_argument("cannot load TLS key '" + options.key_file +
                                    "': " + openssl_error_text());
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    return Status::invalid_argument("TLS key '" + options.key_file +
                                    "' does not match the certificate '" + options.cert_file + "'");
  }
  if (!options.ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, options.ca_file.c_str(), nullptr) != 1) {
      return Status::invalid_argument("cannot load TLS CA '" + options.ca_file +
                                      "': " + openssl_error_text());
    }
    // Tells clients which CAs we accept (a client with several certificates picks by it).
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(options.ca_file.c_str());
    if (names != nullptr) SSL_CTX_set_client_CA_list(ctx, names);
    int mode = SSL_VERIFY_PEER;
    if (options.require_client_cert) mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    SSL_CTX_set_verify(ctx, mode, nullptr);
  }
  ERR_clear_error();
  return context;
}

Result<std::unique_ptr<TlsContext>> TlsContext::create_client(const TlsOptions& options) {
  ERR_clear_error();
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == nullptr)
    return Status::internal("cannot create a TLS context: " + openssl_error_text());
  std::unique_ptr<TlsContext> context(new TlsContext(ctx, false));
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  if (!options.cert_file.empty() &&
      (SSL_CTX_use_certificate_chain_file(ctx, options.cert_file.c_str()) != 1 ||
       SSL_CTX_use_PrivateKey_file(ctx, options.key_file.c_str(), SSL_FILETYPE_PEM) != 1)) {
    return Status::invalid_argument("cannot load client certificate: " + openssl_error_text());
  }
  if (!options.ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, options.ca_file.c_str(), nullptr) != 1) {
      return Status::invalid_argument("cannot load TLS CA '" + options.ca_file +
                                      "': " + openssl_error_text());
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  }
  ERR_clear_error();
  return context;
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

}  // namespace topicdb::net
