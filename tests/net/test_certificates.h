// Certificates made at test time with the openssl CLI in a temporary directory: a CA, a
// server certificate for localhost and 127.0.0.1, a client certificate (CN "alice") the CA
// signed, and a self-signed client certificate (CN "mallory") no CA vouches for. Shared by
// the unit tests (tests/net) and the integration tests.
#ifndef TOPICDB_TESTS_NET_TEST_CERTIFICATES_H_
#define TOPICDB_TESTS_NET_TEST_CERTIFICATES_H_

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

namespace topicdb::test_support {

class TestCertificates {
 public:
  // Null (and *error set) if openssl failed.
  static std::unique_ptr<TestCertificates> make(std::string* error) {
    std::string tmpl = "/tmp/topicdb_certs_XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (::mkdtemp(buf.data()) == nullptr) {
      *error = "mkdtemp failed";
      return nullptr;
    }
    auto certs = std::unique_ptr<TestCertificates>(new TestCertificates(buf.data()));
    const std::string d = certs->dir_;
    const std::string key = " -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes ";
    const std::vector<std::string> commands = {
        "openssl req -x509" + key + "-keyout " + d + "/ca.key -out " + d +
            "/ca.crt -days 2 -subj '/CN=TopicDB Test CA'",
        "openssl req" + key + "-keyout " + d + "/server.key -out " + d +
            "/server.csr -subj '/CN=localhost'",
        "openssl x509 -req -in " + d + "/server.csr -CA " + d + "/ca.crt -CAkey " + d +
            "/ca.key -CAcreateserial -out " + d + "/server.crt -days 2 -extfile " + d +
            "/server.ext",
        "openssl req" + key + "-keyout " + d + "/client.key -out " + d +
            "/client.csr -subj '/CN=alice'",
        "openssl x509 -req -in " + d + "/client.csr -CA " + d + "/ca.crt -CAkey " + d +
            "/ca.key -CAcreateserial -out " + d + "/client.crt -days 2",
        "openssl req -x509" + key + "-keyout " + d + "/mallory.key -out " + d +
            "/mallory.crt -days 2 -subj '/CN=mallory'",
    };
    {
      // Clients that match "127.0.0.1" as a host name (mosquitto_pub, Paho) need the DNS
      // entry; those that match IP addresses need the IP entry.
      std::ofstream ext(d + "/server.ext");
      ext << "subjectAltName=DNS:localhost,DNS:127.0.0.1,IP:127.0.0.1\n";
    }
    for (const std::string& command : commands) {
      if (std::system((command + " >/dev/null 2>&1").c_str()) != 0) {
        *error = "failed: " + command;
        return nullptr;
      }
    }
    return certs;
  }

  ~TestCertificates() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  const std::string& dir() const { return dir_; }
  std::string ca_cert() const { return dir_ + "/ca.crt"; }
  std::string server_cert() const { return dir_ + "/server.crt"; }
  std::string server_key() const { return dir_ + "/server.key"; }
  std::string client_cert() const { return dir_ + "/client.crt"; }  // CN alice, CA-signed
  std::string client_key() const { return dir_ + "/client.key"; }
  std::string untrusted_cert() const { return dir_ + "/mallory.crt"; }  // self-signed
  std::string untrusted_key() const { return dir_ + "/mallory.key"; }

 private:
  explicit TestCertificates(std::string dir) : dir_(std::move(dir)) {}
  std::string dir_;
};

}  // namespace topicdb::test_support

#endif  // TOPICDB_TESTS_NET_TEST_CERTIFICATES_H_
