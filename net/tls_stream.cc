#include "net/tls_stream.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <climits>
#include <utility>

#include "base/log.h"

namespace topicdb::net {

namespace {

// Small writes (acks, small PUBLISHes) are gathered into one record rather than a record
// each; larger ones go straight to SSL_write.
constexpr size_t kGatherBelow = 4096;
constexpr size_t kRecordPlaintext = 16 * 1024;

BIO_METHOD* stream_bio_method(int (*write)(BIO*, const char*, int), int (*read)(BIO*, char*, int),
                              long (*ctrl)(BIO*, int, long, void*)) {
  static BIO_METHOD* method = [&] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "topicdb-stream");
    BIO_meth_set_write(m, write);
    BIO_meth_set_read(m, read);
    BIO_meth_set_ctrl(m, ctrl);
    return m;
  }();
  return method;
}

std::optional<std::string> subject_cn(X509* cert) {
  X509_NAME* subject = X509_get_subject_name(cert);
  int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (index < 0) return std::nullopt;
  ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index));
  unsigned char* utf8 = nullptr;
  int len = ASN1_STRING_to_UTF8(&utf8, data);
  if (len < 0) return std::nullopt;
  std::string cn(reinterpret_cast<char*>(utf8), static_cast<size_t>(len));
  OPENSSL_free(utf8);
  return cn;
}

}  // namespace

TlsStream::TlsStream(std::unique_ptr<Stream> inner, LoopBuffers* buffers, const TlsContext& context,
                     Role role)
    : LayeredStream(std::move(inner), buffers),
      ssl_(SSL_new(context.ssl_ctx())),
      cert_as_username_(context.cert_as_username()) {
  BIO* bio = new_bio(this);
  SSL_set_bio(ssl_, bio, bio);  // one BIO both ways: the SSL holds its one reference
  if (role == Role::kServer) {
    SSL_set_accept_state(ssl_);
  } else {
    SSL_set_connect_state(ssl_);
  }
}

TlsStream::~TlsStream() { SSL_free(ssl_); }

BIO* TlsStream::new_bio(TlsStream* stream) {
  BIO* bio =
      BIO_new(stream_bio_method(&TlsStream::bio_write, &TlsStream::bio_read, &TlsStream::bio_ctrl));
  BIO_set_data(bio, stream);
  BIO_set_init(bio, 1);
  return bio;
}

// Records go straight into the inner stream's write queue; it never refuses (back-pressure
// is the broker's, from queued_bytes()).
int TlsStream::bio_write(BIO* bio, const char* data, int len) {
  auto* self = static_cast<TlsStream*>(BIO_get_data(bio));
  self->inner().out().append(std::string_view(data, static_cast<size_t>(len)));
  return len;
}

// Reads from the bytes the inner stream is delivering now; when they are used up, OpenSSL
// keeps any partial record in its own buffer and says SSL_ERROR_WANT_READ.
int TlsStream::bio_read(BIO* bio, char* data, int len) {
  auto* self = static_cast<TlsStream*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  if (self->input_.empty()) {
    BIO_set_retry_read(bio);
    return -1;
  }
  size_t n = std::min(self->input_.size(), static_cast<size_t>(len));
  std::copy_n(self->input_.data(), n, data);
  self->input_.remove_prefix(n);
  return static_cast<int>(n);
}

long TlsStream::bio_ctrl(BIO*, int cmd, long, void*) {
  return cmd == BIO_CTRL_FLUSH ? 1 : 0;  // the inner stream is flushed by us, after the call
}

void TlsStream::start_handshake() {
  if (handshake_done_ || failed_) return;
  advance_handshake();
  flush_inner();
}

std::string TlsStream::protocol_version() const { return SSL_get_version(ssl_); }

void TlsStream::on_inner_data(std::string_view bytes) {
  if (failed_) return;
  input_ = bytes;
  if (!handshake_done_) {
    bool done = advance_handshake();
    flush_inner();  // the handshake's answer (or the alert that ends it)
    if (!done) {
      input_ = {};
      return;
    }
    flush();  // what the owner queued while the handshake ran
  }
  read_records();
  input_ = {};
  flush_inner();  // what OpenSSL wrote while reading (an alert, TLS 1.3 key updates)
}

bool TlsStream::advance_handshake() {
  ERR_clear_error();
  int rc = SSL_do_handshake(ssl_);
  if (rc == 1) return finish_handshake();
  int err = SSL_get_error(ssl_, rc);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return false;
  fail("TLS handshake failed");
  return false;
}

bool TlsStream::finish_handshake() {
  handshake_done_ = true;
  if (X509* cert = SSL_get0_peer_certificate(ssl_)) {
    // Verification already passed, or the handshake would have failed (SSL_VERIFY_PEER).
    if (SSL_get_verify_result(ssl_) == X509_V_OK) peer_cn_ = subject_cn(cert);
  }
  if (cert_as_username_ && !peer_cn_) {
    fail("client certificate has no CN to use as the user name");
    return false;
  }
  if (log::level() <= log::Level::kDebug) {  // peer() costs a syscall: only when logged
    log::debug("TLS with {}: {}{}", peer(), SSL_get_version(ssl_),
               peer_cn_ ? ", client certificate CN '" + *peer_cn_ + "'" : "");
  }
  return true;
}

void TlsStream::read_records() {
  std::string& plain = buffers().decode_scratch();
  while (!closing() && !failed_) {
    ERR_clear_error();
    int n = SSL_read(ssl_, plain.data(), static_cast<int>(plain.size()));
    if (n > 0) {
      deliver(std::string_view(plain.data(), static_cast<size_t>(n)));
      continue;
    }
    int err = SSL_get_error(ssl_, n);
    if (err == SSL_ERROR_WANT_READ) return;
    if (err == SSL_ERROR_ZERO_RETURN) {  // close_notify: the peer ended the stream cleanly
      deliver_end(End::kPeerClosed);
      return;
    }
    fail("TLS read failed");
    return;
  }
}

void TlsStream::encode(const OutBuffer::Batch& batch) {
  if (failed_) return;
  std::string gathered;
  for (const OutBuffer::Batch::Segment& s : batch.segments) {
    const std::string& base = s.shared_index < 0 ? batch.owned : *batch.shared[s.shared_index];
    std::string_view bytes(base.data() + s.offset, s.length);
    if (bytes.size() >= kGatherBelow) {
      if (!write_plain(gathered) || !write_plain(bytes)) return;
      gathered.clear();
      continue;
    }
    gathered.append(bytes);
    if (gathered.size() >= kRecordPlaintext) {
      if (!write_plain(gathered)) return;
      gathered.clear();
    }
  }
  write_plain(gathered);
}

bool TlsStream::write_plain(std::string_view bytes) {
  while (!bytes.empty()) {
    int chunk = static_cast<int>(std::min<size_t>(bytes.size(), INT_MAX));
    ERR_clear_error();
    int n = SSL_write(ssl_, bytes.data(), chunk);
    if (n <= 0) {
      fail("TLS write failed");
      return false;
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

void TlsStream::encode_goodbye() {
  if (!handshake_done_ || failed_) return;
  ERR_clear_error();
  SSL_shutdown(ssl_);  // queues close_notify; we do not wait for the peer's
}

void TlsStream::fail(const std::string& what) {
  if (failed_) return;
  failed_ = true;
  std::string detail = openssl_error_text();
  log::info("TLS with {}: {}{}{}", peer(), what, detail.empty() ? "" : ": ", detail);
  flush_inner();  // the alert that tells the peer why
  deliver_end(End::kReadError);
}

}  // namespace topicdb::net
