// TlsStream: TLS over another Stream (a TcpStream, or a MemoryStream in tests). OpenSSL reads
// and writes through a BIO of our own that takes the inner stream's bytes where they lie and
// appends records to its OutBuffer, so TLS adds no socket and no buffers of its own.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "net/layered_stream.h"
#include "net/tls_context.h"

typedef struct ssl_st SSL;
typedef struct bio_st BIO;

namespace topicdb::net {

class TlsStream final : public LayeredStream {
 public:
  enum class Role : uint8_t { kServer, kClient };

  // Borrows `buffers`; the SSL keeps its own reference to the context's SSL_CTX.
  TlsStream(std::unique_ptr<Stream> inner, LoopBuffers* buffers, const TlsContext& context,
            Role role = Role::kServer);
  ~TlsStream() override;

  // A client sends its hello (servers wait for it). Call after start_reading().
  void start_handshake();
  bool handshake_done() const { return handshake_done_; }
  // The verified peer certificate's subject CN, if the peer sent a certificate.
  const std::optional<std::string>& peer_certificate_cn() const { return peer_cn_; }
  // "TLSv1.3" and so on, once the handshake is done.
  std::string protocol_version() const;

  std::optional<std::string> transport_username() const override {
    return cert_as_username_ ? peer_cn_ : std::nullopt;
  }

 private:
  void on_inner_data(std::string_view bytes) override;
  bool ready_to_send() const override { return handshake_done_; }
  void encode(const OutBuffer::Batch& batch) override;
  void encode_goodbye() override;

  // Runs the handshake on what arrived; false if it is not (yet) done.
  bool advance_handshake();
  bool finish_handshake();
  void read_records();
  bool write_plain(std::string_view bytes);
  void fail(const std::string& what);

  static BIO* new_bio(TlsStream* stream);
  static int bio_write(BIO* bio, const char* data, int len);
  static int bio_read(BIO* bio, char* data, int len);
  static long bio_ctrl(BIO* bio, int cmd, long num, void* ptr);

  SSL* ssl_;
  std::string_view input_;  // the inner bytes not yet read by OpenSSL (during on_inner_data)
  std::optional<std::string> peer_cn_;
  bool cert_as_username_;
  bool handshake_done_ = false;
  bool failed_ = false;
};

}  // namespace topicdb::net
