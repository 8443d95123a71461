// SCRAM-SHA-256: RFC 7677's example exchange end to end, keys in RFC 5803's text form, and
// the refusals (wrong proof, unknown user, user names that differ from CONNECT's, replays).
#include "plugins/scram_auth.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "plugins/password_file.h"

namespace topicdb::plugins {
namespace {

using broker::AuthExchange;
using Outcome = AuthExchange::Outcome;

// RFC 7677 §3: user "user", password "pencil".
constexpr char kClientFirst[] = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
constexpr char kServerNonce[] = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
constexpr char kServerFirst[] =
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
constexpr char kClientFinal[] =
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMH"
    "gsqmmiz7AndVQ=";
constexpr char kServerFinal[] = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";
// The same user's keys, derived independently (Python hashlib/hmac).
constexpr char kRfcKeys[] =
    "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLw"
    "cE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=";

class ScramAuthTest : public ::testing::Test {
 protected:
  ScramAuthTest() {
    auto keys = parse_scram_keys(kRfcKeys);
    EXPECT_TRUE(keys.is_ok()) << keys.status().to_string();
    keys_ = *keys;
    plugin_ = make_scram_auth(
        [this](std::string_view user) {
          return user == "user" ? std::optional<ScramKeys>(keys_) : std::nullopt;
        },
        kServerNonce);
  }
  ScramKeys keys_;
  std::unique_ptr<broker::AuthPlugin> plugin_;
};

TEST_F(ScramAuthTest, Rfc7677ExampleSucceeds) {
  EXPECT_EQ(plugin_->method(), "SCRAM-SHA-256");
  auto ex = plugin_->begin("c1", std::string("user"));
  auto first = ex->on_client_data(kClientFirst);
  ASSERT_EQ(first.outcome, Outcome::kContinue) << first.reason;
  EXPECT_EQ(first.data, kServerFirst);
  auto last = ex->on_client_data(kClientFinal);
  ASSERT_EQ(last.outcome, Outcome::kSuccess) << last.reason;
  EXPECT_EQ(last.data, kServerFinal);
  EXPECT_EQ(ex->on_client_data(kClientFinal).outcome, Outcome::kFailure);  // finished
}

TEST_F(ScramAuthTest, KeysRoundTripAndDerive) {
  EXPECT_EQ(format_scram_keys(keys_), kRfcKeys);
  auto made = make_scram_keys("pencil", 4096);
  ASSERT_TRUE(made.is_ok());
  EXPECT_EQ(made->salt.size(), 16u);
  auto again = parse_scram_keys(format_scram_keys(*made));
  ASSERT_TRUE(again.is_ok());
  EXPECT_EQ(again->stored_key, made->stored_key);
  EXPECT_FALSE(parse_scram_keys("SCRAM-SHA-1$4096:abc$def:ghi").is_ok());
  EXPECT_FALSE(parse_scram_keys("SCRAM-SHA-256$0:AAAA$AAAA:AAAA").is_ok());
}

TEST_F(ScramAuthTest, ClientHelpersComputeTheRfcProof) {
  const std::string auth_message = std::string(kClientFirst).substr(3) + "," + kServerFirst +
                                   ",c=biws,r=rOprNGfwEbeRWgbNEkqO" + kServerNonce;
  EXPECT_EQ("p=" + base64_encode(scram_client_proof("pencil", keys_.salt, 4096, auth_message)),
            std::string(kClientFinal).substr(std::string(kClientFinal).rfind("p=")));
  EXPECT_EQ("v=" + base64_encode(scram_server_signature("pencil", keys_.salt, 4096, auth_message)),
            kServerFinal);
}

TEST_F(ScramAuthTest, WrongProofFails) {
  auto ex = plugin_->begin("c1", std::string("user"));
  ASSERT_EQ(ex->on_client_data(kClientFirst).outcome, Outcome::kContinue);
  std::string bad = kClientFinal;
  bad[bad.size() - 5] = bad[bad.size() - 5] == 'A' ? 'B' : 'A';
  EXPECT_EQ(ex->on_client_data(bad).outcome, Outcome::kFailure);
}

TEST_F(ScramAuthTest, UnknownUserLooksLikeAUserThenFails) {
  auto ex = plugin_->begin("c1", std::string("ghost"));
  auto first = ex->on_client_data("n,,n=ghost,r=abcdefgh");
  ASSERT_EQ(first.outcome, Outcome::kContinue) << first.reason;
  EXPECT_NE(first.data.find(",s="), std::string::npos);
  auto ex2 = plugin_->begin("c1", std::string("ghost"));
  EXPECT_EQ(ex2->on_client_data("n,,n=ghost,r=abcdefgh").data.substr(first.data.find(",s=")),
            first.data.substr(first.data.find(",s=")))
      << "the decoy salt must not change between attempts";
  const std::string nonce = first.data.substr(2, first.data.find(',') - 2);
  EXPECT_EQ(
      ex->on_client_data("c=biws,r=" + nonce + ",p=" + base64_encode(std::string(32, 'x'))).outcome,
      Outcome::kFailure);
}

TEST_F(ScramAuthTest, RefusesWhatItDoesNotSupportOrTrust) {
  // The CONNECT's User Name must be the SCRAM user: the ACL applies to that name.
  EXPECT_EQ(plugin_->begin("c", std::string("admin"))->on_client_data(kClientFirst).outcome,
            Outcome::kFailure);
  EXPECT_EQ(plugin_->begin("c", std::nullopt)->on_client_data(kClientFirst).outcome,
            Outcome::kFailure);
  for (const char* first : {"p=tls-unique,,n=user,r=x", "n,a=admin,n=user,r=x", "n,,r=x,n=user",
                            "n,,n=user", "n,,n=us=er,r=x", "n,,n=user,r=x,m=ext"}) {
    EXPECT_EQ(plugin_->begin("c", std::string("user"))->on_client_data(first).outcome,
              Outcome::kFailure)
        << first;
  }
  // A final message with another nonce or channel binding fails.
  auto ex = plugin_->begin("c1", std::string("user"));
  ASSERT_EQ(ex->on_client_data(kClientFirst).outcome, Outcome::kContinue);
  std::string other = kClientFinal;
  other.replace(0, 6, "c=eSws");
  EXPECT_EQ(ex->on_client_data(other).outcome, Outcome::kFailure);
}

TEST_F(ScramAuthTest, PasswordFileCarriesScramLines) {
  const std::string text = std::string("user:") + *make_pbkdf2_hash("pencil", 1000) + "\n" +
                           "#scram user:" + kRfcKeys + "\n" + "#scram broken:SCRAM-SHA-256$x\n" +
                           "# an ordinary comment\n";
  std::vector<std::string> warnings;
  PasswordFile file = PasswordFile::parse(text, &warnings);
  ASSERT_NE(file.find_scram("user"), nullptr);
  EXPECT_EQ(file.find_scram("user")->stored_key, keys_.stored_key);
  EXPECT_EQ(file.find_scram("broken"), nullptr);
  EXPECT_EQ(warnings.size(), 1u);
  EXPECT_EQ(file.size(), 1u);
}

}  // namespace
}  // namespace topicdb::plugins
