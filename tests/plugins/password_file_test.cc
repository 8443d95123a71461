// mosquitto's password file format: $7$ (PBKDF2-SHA512), $6$ (salted SHA-512, read only),
// $argon2id$, the file's line rules, and the hashes `topicdb passwd` writes.
#include "plugins/password_file.h"

#include <argon2.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <string>
#include <vector>

namespace topicdb::plugins {
namespace {

// From mosquitto's own test suite (test/broker/01-connect-uname-password-denied.pwfile):
// user "user", password "password", in the $6$ format of mosquitto before 1.6.
constexpr char kMosquittoSha512Line[] =
    "user:$6$vZY4TS+/HBxHw38S$vvjVFECzb8dyuu/mruD2QKTfdFn0WmKxbc+1TsdB0L8EdHk3v9JRmfjHd56+VaTnUcSZ"
    "OZ/hzkdvWCtxlX7AUQ==";

// Known answers computed outside this code base (Python's hashlib.pbkdf2_hmac): password
// "correct horse", salt bytes 1..12, 101 iterations (mosquitto 2.0's default); and
// "battery staple", salt bytes 0..63 (mosquitto 2.1's salt size), 1000 iterations.
constexpr char kPbkdf2Known101[] =
    "$7$101$AQIDBAUGBwgJCgsM$mIOMyf0G01/LkKvFuu6raA+sJydkdh2qDZD+cyTDcrMk08Rnc3N+vIiTgRJqnolJL9T"
    "U+/R/F+mbz31mQG16jg==";
constexpr char kPbkdf2Known1000Salt64[] =
    "$7$1000$AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0"
    "+Pw==$fDIKThENv0CyQ0QKdjSQfWBJCbs9snMpMKA7IQyvTLy8+WmLawxz/zJjJPIgqninkGsGlZ3Nvj4EvKW5gioxW"
    "Q==";

// A $7$ line built in the test from the documented format with OpenSSL directly.
std::string pbkdf2_line(const std::string& password, const std::string& salt, int iterations) {
  std::string digest(64, '\0');
  EXPECT_EQ(PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                              reinterpret_cast<const unsigned char*>(salt.data()),
                              static_cast<int>(salt.size()), iterations, EVP_sha512(), 64,
                              reinterpret_cast<unsigned char*>(digest.data())),
            1);
  return "$7$" + std::to_string(iterations) + "$" + base64_encode(salt) + "$" +
         base64_encode(digest);
}

TEST(PasswordFileTest, Base64RoundTripsAndRejectsGarbage) {
  for (const std::string& s :
       std::vector<std::string>{"a", "ab", "abc", "abcd", std::string("\0\xff\x10", 3)}) {
    auto back = base64_decode(base64_encode(s));
    ASSERT_TRUE(back.is_ok()) << s;
    EXPECT_EQ(*back, s);
  }
  EXPECT_EQ(base64_encode("abcd"), "YWJjZA==");
  EXPECT_FALSE(base64_decode("YWJjZA=").is_ok());
  EXPECT_FALSE(base64_decode("!!!!").is_ok());
}

TEST(PasswordFileTest, MosquittoSha512LineVerifies) {
  PasswordFile file = PasswordFile::parse(kMosquittoSha512Line, nullptr);
  const PasswordHash* h = file.find("user");
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(h->kind, PasswordHashKind::kSha512);
  EXPECT_TRUE(verify_password(*h, "password"));
  EXPECT_FALSE(verify_password(*h, "password9"));  // mosquitto's "denied" case
  EXPECT_FALSE(verify_password(*h, ""));
}

TEST(PasswordFileTest, Pbkdf2KnownAnswers) {
  auto a = parse_password_hash(kPbkdf2Known101);
  ASSERT_TRUE(a.is_ok()) << a.status().to_string();
  EXPECT_EQ(a->kind, PasswordHashKind::kPbkdf2Sha512);
  EXPECT_EQ(a->iterations, 101);
  EXPECT_EQ(a->salt.size(), 12u);
  EXPECT_TRUE(verify_password(*a, "correct horse"));
  EXPECT_FALSE(verify_password(*a, "correct horsf"));
  auto b = parse_password_hash(kPbkdf2Known1000Salt64);
  ASSERT_TRUE(b.is_ok()) << b.status().to_string();
  EXPECT_EQ(b->salt.size(), 64u);
  EXPECT_TRUE(verify_password(*b, "battery staple"));
  EXPECT_FALSE(verify_password(*b, "correct horse"));
}

TEST(PasswordFileTest, Pbkdf2LineComputedInTheTestVerifies) {
  const std::string line = pbkdf2_line("s3cret", "0123456789ab", 1000);
  auto h = parse_password_hash(line);
  ASSERT_TRUE(h.is_ok()) << h.status().to_string();
  EXPECT_TRUE(verify_password(*h, "s3cret"));
  EXPECT_FALSE(verify_password(*h, "s3cret "));
  EXPECT_FALSE(verify_password(*h, "S3cret"));
}

TEST(PasswordFileTest, WrittenHashesArePbkdf2WithDefaultsAndFreshSalts) {
  auto one = make_pbkdf2_hash("pw", 1000);
  auto two = make_pbkdf2_hash("pw", 1000);
  ASSERT_TRUE(one.is_ok() && two.is_ok());
  EXPECT_TRUE(one->starts_with("$7$1000$"));
  EXPECT_NE(*one, *two);  // a new salt each time
  auto parsed = parse_password_hash(*one);
  ASSERT_TRUE(parsed.is_ok());
  EXPECT_EQ(parsed->salt.size(), kPbkdf2SaltBytes);  // readable by mosquitto 2.0
  EXPECT_TRUE(verify_password(*parsed, "pw"));
  EXPECT_FALSE(verify_password(*parsed, "pW"));
  EXPECT_FALSE(make_pbkdf2_hash("pw", 0).is_ok());
  auto by_default = make_pbkdf2_hash("pw");
  ASSERT_TRUE(by_default.is_ok());
  EXPECT_TRUE(by_default->starts_with("$7$210000$"));
}

TEST(PasswordFileTest, Argon2idWrittenAndReadBack) {
  auto encoded = make_argon2id_hash("hunter2");
  ASSERT_TRUE(encoded.is_ok()) << encoded.status().to_string();
  EXPECT_TRUE(encoded->starts_with("$argon2id$v=19$m=47104,t=1,p=1$"));
  auto h = parse_password_hash(*encoded);
  ASSERT_TRUE(h.is_ok());
  EXPECT_EQ(h->kind, PasswordHashKind::kArgon2id);
  EXPECT_TRUE(verify_password(*h, "hunter2"));
  EXPECT_FALSE(verify_password(*h, "hunter3"));
}

TEST(PasswordFileTest, Argon2idFromOtherParametersVerifies) {
  // A hash as another tool might write it (small memory, two passes, 16-byte salt).
  char encoded[256];
  const std::string salt = "somesaltsomesalt";
  ASSERT_EQ(argon2id_hash_encoded(2, 1024, 1, "pw", 2, salt.data(), salt.size(), 32, encoded,
                                  sizeof(encoded)),
            ARGON2_OK);
  PasswordFile file = PasswordFile::parse(std::string("alice:") + encoded + "\n", nullptr);
  ASSERT_NE(file.find("alice"), nullptr);
  EXPECT_TRUE(verify_password(*file.find("alice"), "pw"));
  EXPECT_FALSE(verify_password(*file.find("alice"), "px"));
}

TEST(PasswordFileTest, FileLinesFollowMosquittoRules) {
  const std::string text = std::string("# a comment\n\n") +
                           "  alice : " + pbkdf2_line("a", "abcdefghijkl", 1000) + "  \r\n" +
                           "no-colon-line\n" + "plain:password\n" +  // unhashed: ignored
                           "short:$7$10$AQID$AQID\n" +               // bad salt and hash sizes
                           "zero:$7$0$AQIDBAUGBwgJCgsM$AAAA\n" +     // zero iterations
                           ":$6$x$y\n" + kMosquittoSha512Line + "\n";
  std::vector<std::string> warnings;
  PasswordFile file = PasswordFile::parse(text, &warnings);
  EXPECT_EQ(file.size(), 2u);
  ASSERT_NE(file.find("alice"), nullptr);  // user names are trimmed
  EXPECT_TRUE(verify_password(*file.find("alice"), "a"));
  ASSERT_NE(file.find("user"), nullptr);
  EXPECT_EQ(file.find("plain"), nullptr);
  EXPECT_EQ(file.find("short"), nullptr);
  EXPECT_EQ(file.find("zero"), nullptr);
  EXPECT_EQ(warnings.size(), 5u);
  EXPECT_EQ(file.usual_pbkdf2_iterations(), 1000);
  for (const std::string& w : warnings) EXPECT_TRUE(w.starts_with("line ")) << w;
}

TEST(PasswordFileTest, LoadReportsAnUnreadableFile) {
  auto missing = PasswordFile::load("/nonexistent/topicdb/passwd", nullptr);
  ASSERT_FALSE(missing.is_ok());
  EXPECT_EQ(missing.status().code(), Status::Code::kIoError);
}

}  // namespace
}  // namespace topicdb::plugins
