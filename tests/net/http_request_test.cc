#include "net/http_request.h"

#include <gtest/gtest.h>

#include <cctype>
#include <string>

namespace topicdb::net {
namespace {

using State = HttpRequestParser::State;

TEST(HttpRequestParserTest, ParsesAGetWithHeadersAndQuery) {
  HttpRequestParser p;
  ASSERT_EQ(p.feed("GET /metrics?name[]=x HTTP/1.1\r\nHost: a:9\r\nUser-Agent:  prom/2 \r\n"
                   "Accept: text/plain\r\n\r\n"),
            State::kComplete);
  const HttpRequest& r = p.request();
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.target, "/metrics?name[]=x");
  EXPECT_EQ(r.path, "/metrics");
  EXPECT_EQ(r.minor_version, 1);
  ASSERT_NE(r.header("user-agent"), nullptr);
  EXPECT_EQ(*r.header("user-agent"), "prom/2") << "optional whitespace is trimmed";
  EXPECT_EQ(*r.header("HOST"), "a:9");
  EXPECT_EQ(r.header("Cookie"), nullptr);
}

TEST(HttpRequestParserTest, AcceptsTheHeadByteByByte) {
  const std::string head = "GET /metrics HTTP/1.1\r\nHost: h\r\n\r\n";
  HttpRequestParser p;
  for (size_t i = 0; i + 1 < head.size(); ++i) {
    ASSERT_EQ(p.feed(head.substr(i, 1)), State::kIncomplete) << i;
  }
  ASSERT_EQ(p.feed(head.substr(head.size() - 1)), State::kComplete);
  EXPECT_EQ(p.request().path, "/metrics");
}

TEST(HttpRequestParserTest, BareLineFeedsLeadingBlankLinesAndHttp10WithoutHost) {
  HttpRequestParser p;
  ASSERT_EQ(p.feed("\r\n\nGET / HTTP/1.0\n\n"), State::kComplete);
  EXPECT_EQ(p.request().path, "/");
  EXPECT_EQ(p.request().minor_version, 0);
}

TEST(HttpRequestParserTest, BytesAfterTheHeadAreIgnored) {
  HttpRequestParser p;
  ASSERT_EQ(p.feed("GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\n"), State::kComplete);
  EXPECT_EQ(p.feed("Host: h\r\n\r\n"), State::kComplete);
  EXPECT_EQ(p.request().path, "/a");
}

struct BadCase {
  const char* name;
  std::string head;
  int status;
};

class HttpRequestParserBadTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(HttpRequestParserBadTest, IsRefusedWithItsStatus) {
  HttpRequestParser p;
  ASSERT_EQ(p.feed(GetParam().head), State::kError) << GetParam().name;
  EXPECT_EQ(p.error_status(), GetParam().status) << GetParam().name;
  EXPECT_FALSE(p.error().empty());
  // Stays failed.
  EXPECT_EQ(p.feed("GET / HTTP/1.1\r\nHost: h\r\n\r\n"), State::kError);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, HttpRequestParserBadTest,
    ::testing::Values(
        BadCase{"no version", "GET /metrics\r\n\r\n", 400},
        BadCase{"extra space", "GET  /metrics HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        BadCase{"not a path", "GET metrics HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        BadCase{"absolute form", "GET http://h/metrics HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        BadCase{"bad method", "G(T /metrics HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        BadCase{"bad version", "GET /metrics HTTP/one\r\nHost: h\r\n\r\n", 400},
        BadCase{"http 2", "GET /metrics HTTP/2.0\r\nHost: h\r\n\r\n", 505},
        BadCase{"no host in 1.1", "GET /metrics HTTP/1.1\r\n\r\n", 400},
        BadCase{"no colon", "GET / HTTP/1.1\r\nHost h\r\n\r\n", 400},
        BadCase{"space before colon", "GET / HTTP/1.1\r\nHost : h\r\n\r\n", 400},
        BadCase{"folded", "GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n  2\r\n\r\n", 400},
        BadCase{"control byte", std::string("GET / HTTP/1.1\r\nHost: h\x01\r\n\r\n"), 400},
        BadCase{"nul in target", std::string("GET /me\0trics HTTP/1.1\r\nHost: h\r\n\r\n", 35),
                400},
        BadCase{"body", "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc", 400},
        BadCase{"chunked", "GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
        BadCase{"binary junk", std::string("\x10\x0c\x00\x04MQTT\x04\x02\x00\x3c\r\n\r\n", 16),
                400}),
    [](const ::testing::TestParamInfo<BadCase>& param_info) {
      std::string name = param_info.param.name;
      for (char& c : name) {
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
      }
      return name;
    });

TEST(HttpRequestParserTest, AHeadOverTheBoundIs431EvenWithoutItsEnd) {
  HttpRequestParser p(64);
  EXPECT_EQ(p.feed("GET /metrics HTTP/1.1\r\nHost: h\r\n"), State::kIncomplete);
  EXPECT_EQ(p.feed("X-Padding: " + std::string(64, 'x')), State::kError);
  EXPECT_EQ(p.error_status(), 431);

  HttpRequestParser whole(64);
  EXPECT_EQ(
      whole.feed("GET /metrics HTTP/1.1\r\nHost: h\r\nX: " + std::string(40, 'y') + "\r\n\r\n"),
      State::kError);
  EXPECT_EQ(whole.error_status(), 431);

  HttpRequestParser blank_lines(64);
  EXPECT_EQ(blank_lines.feed(std::string(100, '\n')), State::kError);
  EXPECT_EQ(blank_lines.error_status(), 431);
}

}  // namespace
}  // namespace topicdb::net
