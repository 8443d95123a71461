// dump_json must write exactly what nlohmann's dump(-1, ' ', false, replace) writes: stored
// bodies, change-log rows and answers were all written by it before, and clients and
// partition hashes compare those bytes.
#include "db/json_text.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace topicdb::db {
namespace {

std::string reference(const Json& value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

void expect_same(const Json& value) {
  EXPECT_EQ(dump_json(value), reference(value)) << "for " << reference(value);
}

TEST(JsonTextTest, ScalarsAndContainersMatchNlohmann) {
  for (const char* text :
       {"null",
        "true",
        "false",
        "0",
        "-1",
        "9223372036854775807",
        "-9223372036854775808",
        "18446744073709551615",
        "0.1",
        "1.0",
        "-0.0",
        "1e300",
        "5e-324",
        "123456.789e3",
        "\"\"",
        "{}",
        "[]",
        "[[]]",
        "{\"a\":{}}",
        "[1,2.5,\"x\",null,true,{\"k\":[false]}]",
        R"({"id":"r1","name":"user-000001","email":"user000001@example.com","site":"site-01",)"
        R"("ts":1700000000001,"score":1,"active":true,"bio":"lorem","_version":1})",
        R"({"b":1,"a":2,"A":3,"":4,"ä":5})"}) {
    expect_same(Json::parse(text));
  }
  expect_same(Json(std::numeric_limits<double>::quiet_NaN()));
  expect_same(Json(std::numeric_limits<double>::infinity()));
  expect_same(Json(std::numeric_limits<uint64_t>::max()));
  expect_same(Json(std::numeric_limits<int64_t>::min()));
  expect_same(Json::binary({1, 2, 3}));
}

TEST(JsonTextTest, EveryAsciiByteIsEscapedAsNlohmannDoes) {
  for (int c = 0; c < 0x80; ++c) {
    std::string s = "a";
    s.push_back(static_cast<char>(c));
    s += "z";
    expect_same(Json(s));
    expect_same(Json{{s, s}});
  }
}

// Strings of 1 to 24 bytes with one special byte at each position: the word-at-a-time scan
// and its byte-wise tail must both see it.
TEST(JsonTextTest, SpecialBytesAtEveryPositionOfLongerStrings) {
  for (size_t length = 1; length <= 24; ++length) {
    for (size_t at = 0; at < length; ++at) {
      for (unsigned char special : {0x00, 0x01, 0x1f, 0x20, 0x21, 0x22, 0x5c, 0x7f, 0x80, 0xc3}) {
        std::string s(length, 'x');
        s[at] = static_cast<char>(special);
        expect_same(Json(s));
        if (special == 0xc3 && at + 1 < length) {
          s[at + 1] = static_cast<char>(0xa9);  // a valid two-byte sequence
          expect_same(Json(s));
        }
      }
    }
  }
}

TEST(JsonTextTest, Utf8IsCopiedAndInvalidUtf8IsReplacedAsNlohmannDoes) {
  for (std::string s : {
           std::string("caf\xC3\xA9"),                   // 2 bytes
           std::string("\xE2\x82\xAC 5"),                // 3 bytes
           std::string("\xF0\x9F\x98\x80"),              // 4 bytes
           std::string("\xEF\xBF\xBF\xF4\x8F\xBF\xBF"),  // U+FFFF, U+10FFFF
           std::string("\x80"),                          // lone continuation
           std::string("\xC3"),                          // truncated at the end
           std::string("\xC3(x"),                        // bad continuation
           std::string("\xC0\x80"),                      // overlong NUL
           std::string("\xE0\x80\xAF"),                  // overlong
           std::string("\xED\xA0\x80"),                  // surrogate
           std::string("\xF4\x90\x80\x80"),              // above U+10FFFF
           std::string("\xF5\x80\x80\x80"),              // invalid lead
           std::string("\xF0\x9F\x98"),                  // truncated 4-byte
           std::string("ok\xFF\"\n\x01"),                // invalid byte among escapes
       }) {
    expect_same(Json(s));
    expect_same(Json{{s, Json::array({s, 1})}});
  }
}

// Random trees of random strings (every byte value, short runs of valid multi-byte
// sequences) and numbers: a bounded number of cases, a fixed seed.
Json random_value(std::mt19937_64& rng, int depth) {
  auto random_string = [&] {
    std::string s;
    const size_t n = rng() % 12;
    for (size_t i = 0; i < n; ++i) {
      switch (rng() % 4) {
        case 0:
          s.push_back(static_cast<char>(rng() % 256));
          break;
        case 1:
          s += "\xC3\xA9";
          break;
        case 2:
          s += "\xF0\x9F\x98\x80";
          break;
        default:
          s.push_back(static_cast<char>('a' + rng() % 26));
      }
    }
    return s;
  };
  switch (depth >= 4 ? rng() % 5 : rng() % 7) {
    case 0:
      return nullptr;
    case 1:
      return (rng() & 1) != 0;
    case 2:
      return static_cast<int64_t>(rng());
    case 3:
      return std::ldexp(static_cast<double>(rng() % 1000000), static_cast<int>(rng() % 80) - 40);
    case 4:
      return random_string();
    case 5: {
      Json array = Json::array();
      for (size_t i = rng() % 5; i > 0; --i) array.push_back(random_value(rng, depth + 1));
      return array;
    }
    default: {
      Json object = Json::object();
      for (size_t i = rng() % 5; i > 0; --i) object[random_string()] = random_value(rng, depth + 1);
      return object;
    }
  }
}

TEST(JsonTextTest, RandomTreesMatchNlohmann) {
  std::mt19937_64 rng(20261203);
  for (int i = 0; i < 3000; ++i) {
    Json value = random_value(rng, 0);
    ASSERT_EQ(dump_json(value), reference(value)) << "case " << i;
  }
}

TEST(JsonTextTest, AppendJsonAppends) {
  std::string out = "x=";
  append_json(&out, Json{{"k", "v"}});
  EXPECT_EQ(out, R"(x={"k":"v"})");
}

}  // namespace
}  // namespace topicdb::db
