// TlsStream over pairs of MemoryStreams: a server and a client TlsStream exchange records
// through the test, with certificates made by the openssl CLI at test time.
#include "net/tls_stream.h"

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <vector>

#include "net/memory_stream.h"
#include "tests/net/test_certificates.h"

namespace topicdb::net {
namespace {

using test_support::TestCertificates;

class TlsRecordingOwner final : public StreamOwner {
 public:
  void on_stream_data(std::string_view bytes) override { received.append(bytes); }
  void on_stream_written(size_t bytes) override { written += bytes; }
  void on_stream_end(End why) override { ends.push_back(why); }
  void on_stream_closed() override { ++closed; }

  std::string received;
  size_t written = 0;
  std::vector<End> ends;
  int closed = 0;
};

// One end: the MemoryStream under it (the "socket") and the TlsStream its owner sees.
struct Side {
  MemoryStream* wire = nullptr;
  std::unique_ptr<TlsStream> tls;
  TlsRecordingOwner owner;
};

class TlsStreamTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string error;
    certs_ = TestCertificates::make(&error).release();
    ASSERT_NE(certs_, nullptr) << error;
  }
  static void TearDownTestSuite() {
    delete certs_;
    certs_ = nullptr;
  }

  std::unique_ptr<TlsContext> server_context(bool require_client_cert = false,
                                             bool cert_as_username = false) {
    TlsOptions options;
    options.cert_file = certs_->server_cert();
    options.key_file = certs_->server_key();
    if (require_client_cert) options.ca_file = certs_->ca_cert();
    options.require_client_cert = require_client_cert;
    options.cert_as_username = cert_as_username;
    auto context = TlsContext::create(options);
    EXPECT_TRUE(context.is_ok()) << context.status().to_string();
    return context.is_ok() ? std::move(*context) : nullptr;
  }
  std::unique_ptr<TlsContext> client_context(const std::string& cert = "",
                                             const std::string& key = "") {
    TlsOptions options;
    options.ca_file = certs_->ca_cert();
    options.cert_file = cert;
    options.key_file = key;
    auto context = TlsContext::create_client(options);
    EXPECT_TRUE(context.is_ok()) << context.status().to_string();
    return context.is_ok() ? std::move(*context) : nullptr;
  }

  void open(Side* end, const TlsContext& context, TlsStream::Role role) {
    auto wire = std::make_unique<MemoryStream>(&buffers_, "10.0.0.1:8883");
    end->wire = wire.get();
    end->tls = std::make_unique<TlsStream>(std::move(wire), &buffers_, context, role);
    end->tls->set_owner(&end->owner);
    ASSERT_TRUE(end->tls->start_reading());
  }
  // Starts the client's handshake and carries bytes both ways until neither side writes.
  void connect() {
    open(&server_, *server_context_, TlsStream::Role::kServer);
    open(&client_, *client_context_, TlsStream::Role::kClient);
    client_.tls->start_handshake();
    pump();
  }
  void pump() {
    for (int round = 0; round < 100; ++round) {
      std::string to_server = client_.wire->take_written();
      std::string to_client = server_.wire->take_written();
      if (to_server.empty() && to_client.empty()) return;
      if (!to_server.empty() && !server_.wire->closing()) server_.wire->push(to_server);
      if (!to_client.empty() && !client_.wire->closing()) client_.wire->push(to_client);
    }
    ADD_FAILURE() << "the ends kept talking";
  }

  static TestCertificates* certs_;
  LoopBuffers buffers_;
  std::unique_ptr<TlsContext> server_context_;
  std::unique_ptr<TlsContext> client_context_;
  Side server_;
  Side client_;
};

TestCertificates* TlsStreamTest::certs_ = nullptr;

TEST_F(TlsStreamTest, HandshakeThenBytesBothWaysUnchanged) {
  server_context_ = server_context();
  client_context_ = client_context();
  connect();
  ASSERT_TRUE(server_.tls->handshake_done());
  ASSERT_TRUE(client_.tls->handshake_done());
  EXPECT_EQ(server_.tls->protocol_version(), "TLSv1.3");
  EXPECT_FALSE(server_.tls->peer_certificate_cn());
  EXPECT_FALSE(server_.tls->transport_username());

  // Small owned bytes, a large shared buffer and more small bytes: one gathered flush.
  std::string big(100000, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7);
  client_.tls->out().append("\x10\x0c");
  client_.tls->out().append_shared(std::make_shared<const std::string>(big));
  client_.tls->out().append("tail");
  client_.tls->flush();
  EXPECT_EQ(client_.tls->queued_bytes(), 0u);
  EXPECT_EQ(client_.owner.written, 2 + big.size() + 4);
  // Records, not the plaintext, are on the wire.
  std::string wire = client_.wire->written();
  EXPECT_EQ(wire.find("tail"), std::string::npos);
  pump();
  EXPECT_EQ(server_.owner.received, "\x10\x0c" + big + "tail");

  server_.tls->out().append("answer");
  server_.tls->flush();
  pump();
  EXPECT_EQ(client_.owner.received, "answer");
  EXPECT_TRUE(server_.owner.ends.empty());
  EXPECT_TRUE(client_.owner.ends.empty());
}

TEST_F(TlsStreamTest, RecordsSplitIntoSingleBytesAreReassembled) {
  server_context_ = server_context();
  client_context_ = client_context();
  connect();
  client_.tls->out().append("hello over tls");
  client_.tls->flush();
  for (char byte : client_.wire->take_written()) server_.wire->push(std::string(1, byte));
  EXPECT_EQ(server_.owner.received, "hello over tls");
}

TEST_F(TlsStreamTest, BytesQueuedDuringTheHandshakeGoOutAfterIt) {
  server_context_ = server_context();
  client_context_ = client_context();
  open(&server_, *server_context_, TlsStream::Role::kServer);
  open(&client_, *client_context_, TlsStream::Role::kClient);
  client_.tls->out().append("early");
  client_.tls->flush();  // handshake not started: stays queued
  EXPECT_EQ(client_.tls->queued_bytes(), 5u);
  client_.tls->start_handshake();
  pump();
  client_.tls->flush();
  pump();
  EXPECT_EQ(server_.owner.received, "early");
  EXPECT_EQ(client_.tls->queued_bytes(), 0u);
}

TEST_F(TlsStreamTest, MutualTlsGivesTheClientCertificateCnAsUserName) {
  server_context_ = server_context(/*require_client_cert=*/true, /*cert_as_username=*/true);
  client_context_ = client_context(certs_->client_cert(), certs_->client_key());
  connect();
  ASSERT_TRUE(server_.tls->handshake_done());
  EXPECT_EQ(server_.tls->peer_certificate_cn(), "alice");
  EXPECT_EQ(server_.tls->transport_username(), "alice");
  EXPECT_TRUE(server_.owner.ends.empty());
}

TEST_F(TlsStreamTest, CnIsNoUserNameUnlessConfigured) {
  server_context_ = server_context(/*require_client_cert=*/true, /*cert_as_username=*/false);
  client_context_ = client_context(certs_->client_cert(), certs_->client_key());
  connect();
  EXPECT_EQ(server_.tls->peer_certificate_cn(), "alice");
  EXPECT_FALSE(server_.tls->transport_username());
}

TEST_F(TlsStreamTest, MutualTlsRefusesAClientWithoutCertificate) {
  server_context_ = server_context(/*require_client_cert=*/true);
  client_context_ = client_context();
  connect();
  client_.tls->out().append("CONNECT");
  client_.tls->flush();
  pump();
  EXPECT_TRUE(server_.owner.received.empty());
  ASSERT_EQ(server_.owner.ends.size(), 1u);
  EXPECT_EQ(server_.owner.ends[0], StreamOwner::End::kReadError);
}

TEST_F(TlsStreamTest, MutualTlsRefusesACertificateTheCaDidNotSign) {
  server_context_ = server_context(/*require_client_cert=*/true);
  client_context_ = client_context(certs_->untrusted_cert(), certs_->untrusted_key());
  connect();
  client_.tls->out().append("CONNECT");
  client_.tls->flush();
  pump();
  EXPECT_TRUE(server_.owner.received.empty());
  ASSERT_EQ(server_.owner.ends.size(), 1u);
  EXPECT_FALSE(server_.tls->peer_certificate_cn());
}

TEST_F(TlsStreamTest, Tls11ClientIsRefused) {
  server_context_ = server_context();
  client_context_ = client_context();
  SSL_CTX* client = client_context_->ssl_ctx();
  // OpenSSL 3 allows TLS 1.1 only at security level 0.
  SSL_CTX_set_security_level(client, 0);
  SSL_CTX_set_min_proto_version(client, TLS1_1_VERSION);
  SSL_CTX_set_max_proto_version(client, TLS1_1_VERSION);
  connect();
  EXPECT_FALSE(server_.tls->handshake_done());
  EXPECT_FALSE(client_.tls->handshake_done());
  ASSERT_EQ(server_.owner.ends.size(), 1u);
  EXPECT_EQ(server_.owner.ends[0], StreamOwner::End::kReadError);
}

TEST_F(TlsStreamTest, PlaintextMqttOnATlsPortEndsTheStream) {
  server_context_ = server_context();
  open(&server_, *server_context_, TlsStream::Role::kServer);
  server_.wire->push(std::string("\x10\x10\x00\x04MQTT\x04\x02\x00\x3c\x00\x04test", 18));
  EXPECT_TRUE(server_.owner.received.empty());
  ASSERT_EQ(server_.owner.ends.size(), 1u);
  EXPECT_EQ(server_.owner.ends[0], StreamOwner::End::kReadError);
}

TEST_F(TlsStreamTest, OrderlyCloseSendsCloseNotify) {
  server_context_ = server_context();
  client_context_ = client_context();
  connect();
  server_.tls->out().append("bye");
  server_.tls->close(/*flush_first=*/true);
  pump();
  EXPECT_EQ(client_.owner.received, "bye");
  ASSERT_EQ(client_.owner.ends.size(), 1u);
  EXPECT_EQ(client_.owner.ends[0], StreamOwner::End::kPeerClosed);
  // The inner stream's close reaches the owner, which may then destroy the stream.
  ASSERT_TRUE(server_.wire->closed());
  server_.wire->finish_close();
  EXPECT_EQ(server_.owner.closed, 1);
}

TEST_F(TlsStreamTest, BadCertificateFilesAreOneLineErrors) {
  TlsOptions options;
  options.cert_file = certs_->dir() + "/missing.crt";
  options.key_file = certs_->server_key();
  auto missing = TlsContext::create(options);
  ASSERT_FALSE(missing.is_ok());
  EXPECT_NE(missing.status().message().find("missing.crt"), std::string::npos);
  EXPECT_EQ(missing.status().message().find('\n'), std::string::npos);

  options.cert_file = certs_->server_cert();
  options.key_file = certs_->client_key();  // a key of another certificate
  auto mismatch = TlsContext::create(options);
  ASSERT_FALSE(mismatch.is_ok());
  // OpenSSL notices the mismatch when it loads the key ("key values mismatch").
  EXPECT_NE(mismatch.status().message().find("client.key"), std::string::npos)
      << mismatch.status().message();

  options.key_file = certs_->server_key();
  options.cert_as_username = true;  // without required client certificates
  EXPECT_FALSE(TlsContext::create(options).is_ok());
}

}  // namespace
}  // namespace topicdb::net
