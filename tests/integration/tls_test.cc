// MQTT over TLS against the real broker (--listen-tls), certificates made at test time with
// the openssl CLI: Paho C++ over ssl://, mutual TLS, the CN as user name, mosquitto_pub
// --cafile, TLS 1.1 refused, and listeners that cannot start.
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "tests/integration/broker_process.h"
#include "tests/integration/layered_listeners.h"
#include "tests/integration/paho_client.h"
#include "tests/net/test_certificates.h"

namespace topicdb::itest {
namespace {

using test_support::TestCertificates;

class TlsTest : public ::testing::Test {
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

  // Starts the broker with a TLS listener and `extra` arguments; sets tls_port_.
  void start(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"--listen-tls",        "127.0.0.1:0", "--tls-cert",
                                     certs_->server_cert(), "--tls-key",   certs_->server_key()};
    args.insert(args.end(), extra.begin(), extra.end());
    ASSERT_TRUE(broker_.start(dir_.path(), args));
    tls_port_ = ready_port(broker_.ready_line(), "tls");
    ASSERT_NE(tls_port_, 0) << broker_.ready_line();
  }
  std::string tls_uri() const { return "ssl://127.0.0.1:" + std::to_string(tls_port_); }
  // Trusts our CA and checks the server's certificate and name (127.0.0.1 is in its SAN).
  static ::mqtt::ssl_options trusting_ssl() {
    ::mqtt::ssl_options ssl;
    ssl.set_trust_store(certs_->ca_cert());
    ssl.set_enable_server_cert_auth(true);
    ssl.set_verify(true);
    return ssl;
  }
  static ::mqtt::ssl_options with_client_cert(const std::string& cert, const std::string& key) {
    ::mqtt::ssl_options ssl = trusting_ssl();
    ssl.set_key_store(cert);
    ssl.set_private_key(key);
    return ssl;
  }
  std::vector<std::string> mutual_tls() const {
    return {"--tls-ca", certs_->ca_cert(), "--tls-require-client-cert", "true"};
  }

  static TestCertificates* certs_;
  TempDir dir_;
  BrokerProcess broker_;
  uint16_t tls_port_ = 0;
};

TestCertificates* TlsTest::certs_ = nullptr;

TEST_F(TlsTest, PahoOverSslPublishesAndSubscribes) {
  start();
  EXPECT_EQ(broker_.ready_line().find(" ws="), std::string::npos);  // only what is configured
  UriClient subscriber(tls_uri(), "tls-sub");
  ASSERT_TRUE(subscriber.connect({trusting_ssl()}));
  ASSERT_TRUE(subscriber.subscribe("tls/#", 1));
  UriClient publisher(tls_uri(), "tls-pub");
  ASSERT_TRUE(publisher.connect({trusting_ssl()}));
  std::string big(200000, 'b');  // many records, read in several pieces
  ASSERT_TRUE(publisher.publish("tls/small", "hello", 1));
  ASSERT_TRUE(publisher.publish("tls/big", big, 1));
  auto first = subscriber.receive();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->get_topic(), "tls/small");
  EXPECT_EQ(first->get_payload_str(), "hello");
  auto second = subscriber.receive();
  ASSERT_TRUE(second);
  EXPECT_EQ(second->get_payload_str(), big);

  // The plain listener serves the same topics.
  PahoClient plain(broker_.port(), "plain-pub");
  ASSERT_TRUE(plain.connect());
  ASSERT_TRUE(plain.publish("tls/plain", "from tcp", 0));
  auto third = subscriber.receive();
  ASSERT_TRUE(third);
  EXPECT_EQ(third->get_payload_str(), "from tcp");
}

TEST_F(TlsTest, ClientThatDoesNotTrustTheCaRefusesTheServer) {
  start();
  UriClient client(tls_uri(), "no-trust");
  ::mqtt::ssl_options ssl;  // system trust store: our test CA is not in it
  ssl.set_enable_server_cert_auth(true);
  EXPECT_FALSE(client.connect({ssl}));
}

TEST_F(TlsTest, MosquittoPubWithCafileReachesASubscriber) {
  start();
  PahoClient subscriber(broker_.port(), "plain-sub");
  ASSERT_TRUE(subscriber.connect());
  ASSERT_TRUE(subscriber.subscribe("mosq/tls", 1));
  ProcessResult r =
      run_process({MOSQUITTO_PUB, "-h", "127.0.0.1", "-p", std::to_string(tls_port_), "--cafile",
                   certs_->ca_cert(), "-q", "1", "-t", "mosq/tls", "-m", "over tls"},
                  milliseconds(10000));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto message = subscriber.receive();
  ASSERT_TRUE(message);
  EXPECT_EQ(message->get_payload_str(), "over tls");
}

TEST_F(TlsTest, MutualTlsAcceptsOnlyCertificatesTheCaSigned) {
  start(mutual_tls());
  UriClient without(tls_uri(), "no-cert");
  EXPECT_FALSE(without.connect({trusting_ssl()}));
  UriClient untrusted(tls_uri(), "mallory");
  EXPECT_FALSE(
      untrusted.connect({with_client_cert(certs_->untrusted_cert(), certs_->untrusted_key())}));
  ProcessResult r = run_process({MOSQUITTO_PUB, "-h", "127.0.0.1", "-p", std::to_string(tls_port_),
                                 "--cafile", certs_->ca_cert(), "-t", "t", "-m", "x"},
                                milliseconds(10000));
  EXPECT_NE(r.exit_code, 0) << r.output;

  UriClient alice(tls_uri(), "alice-client");
  ASSERT_TRUE(alice.connect({with_client_cert(certs_->client_cert(), certs_->client_key())}));
  ASSERT_TRUE(alice.subscribe("m/#", 0));
  ASSERT_TRUE(alice.publish("m/1", "mutual", 0));
  auto message = alice.receive();
  ASSERT_TRUE(message);
  EXPECT_EQ(message->get_payload_str(), "mutual");
  r = run_process({MOSQUITTO_PUB, "-h", "127.0.0.1", "-p", std::to_string(tls_port_), "--cafile",
                   certs_->ca_cert(), "--cert", certs_->client_cert(), "--key",
                   certs_->client_key(), "-t", "m/2", "-m", "mosq"},
                  milliseconds(10000));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  message = alice.receive();
  ASSERT_TRUE(message);
  EXPECT_EQ(message->get_payload_str(), "mosq");
}

// The broker's debug line for each accepted CONNECT names the user the session runs as:
// the certificate's CN, not the name the client put in CONNECT.
TEST_F(TlsTest, CertificateCnIsTheUserName) {
  std::vector<std::string> args = mutual_tls();
  args.insert(args.end(), {"--tls-cert-as-username", "true", "--log-level", "debug"});
  start(args);
  UriClient alice(tls_uri(), "cn-client");
  ASSERT_TRUE(alice.connect(
      {with_client_cert(certs_->client_cert(), certs_->client_key()), std::string("bob")}));
  PahoClient plain(broker_.port(), "plain-client");  // plain MQTT: no certificate, no user
  ASSERT_TRUE(plain.connect());
  std::string cn_line;
  std::string plain_line;
  ASSERT_TRUE(wait_until(
      [&] {
        std::ifstream in(broker_.stderr_path());
        for (std::string line; std::getline(in, line);) {
          if (line.find("client 'cn-client' connected") != std::string::npos) cn_line = line;
          if (line.find("client 'plain-client' connected") != std::string::npos) {
            plain_line = line;
          }
        }
        return !cn_line.empty() && !plain_line.empty();
      },
      milliseconds(5000)))
      << broker_.stderr_tail();
  EXPECT_NE(cn_line.find("user='alice'"), std::string::npos) << cn_line;
  EXPECT_EQ(cn_line.find("bob"), std::string::npos) << cn_line;
  EXPECT_NE(plain_line.find("user=none"), std::string::npos) << plain_line;
}

// With a password file and an ACL, the certificate is the authentication (mosquitto's
// use_identity_as_username): a certificate client gets in without a password, even one that
// names another user with a wrong password, and the ACL applies to its CN; clients of the
// plain listener still need their password.
TEST_F(TlsTest, CertificateUserNeedsNoPasswordAndTheAclAppliesToItsCn) {
  // PBKDF2-SHA512 of "correct horse" (tests/integration/auth_test.cc's line, as carol).
  const std::string passwords = dir_.path() + "/passwords";
  std::ofstream(passwords) << "carol:$7$101$AQIDBAUGBwgJCgsM$mIOMyf0G01/LkKvFuu6raA+sJydkdh2qDZD"
                              "+cyTDcrMk08Rnc3N+vIiTgRJqnolJL9TU+/R/F+mbz31mQG16jg==\n";
  const std::string acl = dir_.path() + "/acl";
  std::ofstream(acl) << "user alice\ntopic readwrite alice/#\nuser carol\ntopic readwrite #\n";
  std::vector<std::string> args = mutual_tls();
  args.insert(args.end(), {"--tls-cert-as-username", "true", "--password-file", passwords,
                           "--acl-file", acl, "--auth-fail-delay-ms", "0"});
  start(args);

  const std::string plain_uri = "tcp://127.0.0.1:" + std::to_string(broker_.port());
  UriClient anonymous(plain_uri, "anonymous");
  EXPECT_FALSE(anonymous.connect());  // the password file is in force on the plain listener
  UriClient carol(plain_uri, "carol");
  ASSERT_TRUE(carol.connect({std::nullopt, std::string("carol"), std::string("correct horse")}));
  ASSERT_TRUE(carol.subscribe("#", 1));

  UriClient alice(tls_uri(), "alice-cert");
  ASSERT_TRUE(alice.connect({with_client_cert(certs_->client_cert(), certs_->client_key())}));
  // carol's name and a wrong password change nothing: the session is alice's.
  UriClient posing(tls_uri(), "posing-as-carol");
  ::mqtt::ssl_options ssl = with_client_cert(certs_->client_cert(), certs_->client_key());
  ASSERT_TRUE(posing.connect({ssl, std::string("carol"), std::string("wrong")}));
  // alice may not write outside alice/#: 3.1.1 drops the PUBLISH, so carol, who reads
  // everything, gets only the allowed message that follows it.
  ASSERT_TRUE(posing.publish("carol/secret", "denied", 1));
  ASSERT_TRUE(alice.publish("elsewhere", "denied", 1));
  ASSERT_TRUE(alice.publish("alice/status", "allowed", 1));
  auto first = carol.receive();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->get_topic(), "alice/status");
  EXPECT_EQ(first->get_payload_str(), "allowed");

  // mosquitto_pub with a certificate and no user name or password.
  ProcessResult r =
      run_process({MOSQUITTO_PUB, "-h", "127.0.0.1", "-p", std::to_string(tls_port_), "--cafile",
                   certs_->ca_cert(), "--cert", certs_->client_cert(), "--key",
                   certs_->client_key(), "-q", "1", "-t", "alice/mosq", "-m", "from mosquitto_pub"},
                  milliseconds(10000));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  auto second = carol.receive();
  ASSERT_TRUE(second);
  EXPECT_EQ(second->get_topic(), "alice/mosq");
}

TEST_F(TlsTest, Tls11IsRefusedAndTls12Accepted) {
  start();
  const std::string connect = "127.0.0.1:" + std::to_string(tls_port_);
  // Security level 0 lets OpenSSL 3's client offer TLS 1.1 at all, so a refusal is the
  // server's (its protocol_version alert), not the client's.
  ProcessResult old = run_process({"/bin/sh", "-c",
                                   "openssl s_client -connect " + connect +
                                       " -tls1_1 -cipher DEFAULT@SECLEVEL=0 </dev/null 2>&1"},
                                  milliseconds(10000));
  ASSERT_FALSE(old.timed_out);
  EXPECT_NE(old.exit_code, 0) << old.output;
  EXPECT_NE(old.output.find("alert protocol version"), std::string::npos) << old.output;
  ProcessResult tls12 = run_process({"/bin/sh", "-c",
                                     "openssl s_client -connect " + connect + " -tls1_2 -CAfile " +
                                         certs_->ca_cert() + " </dev/null 2>&1"},
                                    milliseconds(10000));
  EXPECT_NE(tls12.output.find("Protocol  : TLSv1.2"), std::string::npos) << tls12.output;
  EXPECT_NE(tls12.output.find("Verify return code: 0 (ok)"), std::string::npos) << tls12.output;
}

// Runs `topicdb serve` expecting it to refuse to start; returns its output.
ProcessResult serve_expecting_failure(const std::string& data_dir,
                                      const std::vector<std::string>& args) {
  std::vector<std::string> argv = {TOPICDB_BINARY, "serve",      "--listen",
                                   "127.0.0.1:0",  "--data-dir", data_dir};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_process(argv, milliseconds(10000));
}

std::vector<std::string> error_lines(const std::string& output) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < output.size()) {
    size_t end = output.find('\n', start);
    std::string line = output.substr(start, end == std::string::npos ? end : end - start);
    if (line.rfind("topicdb: ", 0) == 0) lines.push_back(line);
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return lines;
}

TEST_F(TlsTest, BadCertificatePathStopsTheBrokerWithOneLine) {
  ProcessResult r = serve_expecting_failure(
      dir_.path(), {"--listen-tls", "127.0.0.1:0", "--tls-cert", dir_.path() + "/nope.crt",
                    "--tls-key", certs_->server_key()});
  ASSERT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_EQ(r.output.find("topicdb ready"), std::string::npos) << r.output;
  std::vector<std::string> errors = error_lines(r.output);
  ASSERT_EQ(errors.size(), 1u) << r.output;
  EXPECT_NE(errors[0].find("cannot load TLS certificate '" + dir_.path() + "/nope.crt'"),
            std::string::npos)
      << errors[0];
}

TEST_F(TlsTest, KeyOfAnotherCertificateStopsTheBroker) {
  ProcessResult r = serve_expecting_failure(
      dir_.path(), {"--listen-wss", "127.0.0.1:0", "--tls-cert", certs_->server_cert(), "--tls-key",
                    certs_->client_key()});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  ASSERT_EQ(error_lines(r.output).size(), 1u) << r.output;
  EXPECT_NE(error_lines(r.output)[0].find("client.key"), std::string::npos) << r.output;
}

TEST_F(TlsTest, TakenPortStopsTheBroker) {
  start();
  TempDir other;
  ProcessResult r = serve_expecting_failure(
      other.path(), {"--listen-tls", "127.0.0.1:" + std::to_string(tls_port_), "--tls-cert",
                     certs_->server_cert(), "--tls-key", certs_->server_key()});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  std::vector<std::string> errors = error_lines(r.output);
  ASSERT_EQ(errors.size(), 1u) << r.output;
  EXPECT_NE(errors[0].find("cannot listen on 127.0.0.1:" + std::to_string(tls_port_)),
            std::string::npos)
      << errors[0];
}

TEST_F(TlsTest, MissingKeyIsAUsageError) {
  ProcessResult r = serve_expecting_failure(
      dir_.path(), {"--listen-tls", "127.0.0.1:0", "--tls-cert", certs_->server_cert()});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("need --tls-cert and --tls-key"), std::string::npos) << r.output;
}

TEST_F(TlsTest, ConfigFileKeysConfigureTheTlsListener) {
  const std::string config = dir_.path() + "/topicdb.conf";
  {
    std::ofstream out(config);
    out << "listen-tls = 127.0.0.1:0\ntls-cert = " << certs_->server_cert()
        << "\ntls-key = " << certs_->server_key() << "\ntls-ca = " << certs_->ca_cert()
        << "\ntls-require-client-cert = true\n";
  }
  ASSERT_TRUE(broker_.start(dir_.path(), {"--config", config}));
  tls_port_ = ready_port(broker_.ready_line(), "tls");
  ASSERT_NE(tls_port_, 0) << broker_.ready_line();
  UriClient alice(tls_uri(), "alice");
  EXPECT_TRUE(alice.connect({with_client_cert(certs_->client_cert(), certs_->client_key())}));
  UriClient without(tls_uri(), "no-cert");
  EXPECT_FALSE(without.connect({trusting_ssl()}));
}

}  // namespace
}  // namespace topicdb::itest
