// The bounds-checked reader and the writers of broker/codec/wire.h.
#include "broker/codec/wire.h"

#include <gtest/gtest.h>

#include <string>

namespace topicdb::mqtt {
namespace {

TEST(WireReaderTest, ReadsBigEndianIntegers) {
  WireReader r(std::string_view("\x01\x02\x03\x04\x05\x06\x07", 7));
  uint8_t a = 0;
  uint16_t b = 0;
  uint32_t c = 0;
  ASSERT_TRUE(r.read_u8(&a));
  ASSERT_TRUE(r.read_u16(&b));
  ASSERT_TRUE(r.read_u32(&c));
  EXPECT_EQ(a, 0x01);
  EXPECT_EQ(b, 0x0203);
  EXPECT_EQ(c, 0x04050607u);
  EXPECT_TRUE(r.empty());
  EXPECT_FALSE(r.read_u8(&a));
}

TEST(WireReaderTest, HighBitBytes) {
  WireReader r("\xFF\xFE\xFD\xFC\xFB\xFA");
  uint16_t b = 0;
  uint32_t c = 0;
  ASSERT_TRUE(r.read_u16(&b));
  ASSERT_TRUE(r.read_u32(&c));
  EXPECT_EQ(b, 0xFFFE);
  EXPECT_EQ(c, 0xFDFCFBFAu);
}

TEST(WireReaderTest, ShortReadsFailWithoutAdvancing) {
  WireReader r("\x01\x02\x03");
  uint32_t c = 0;
  EXPECT_FALSE(r.read_u32(&c));
  EXPECT_EQ(r.remaining(), 3u);
  std::string_view s;
  EXPECT_FALSE(r.read_bytes(4, &s));
  EXPECT_EQ(r.remaining(), 3u);
}

TEST(WireReaderTest, PrefixedPastEndFailsWithoutAdvancing) {
  WireReader r(
      std::string_view("\x00\x05"
                       "abc",
                       5));
  std::string_view s;
  EXPECT_FALSE(r.read_prefixed(&s));
  EXPECT_EQ(r.remaining(), 5u);
}

TEST(WireReaderTest, PrefixedAndRest) {
  WireReader r(
      std::string_view("\x00\x03"
                       "abc"
                       "\x00\x00"
                       "xyz",
                       10));
  std::string_view s;
  ASSERT_TRUE(r.read_prefixed(&s));
  EXPECT_EQ(s, "abc");
  ASSERT_TRUE(r.read_prefixed(&s));
  EXPECT_EQ(s, "");
  EXPECT_EQ(r.take_rest(), "xyz");
  EXPECT_TRUE(r.empty());
  EXPECT_EQ(r.take_rest(), "");
}

TEST(WireReaderTest, Varints) {
  struct Case {
    const char* bytes;
    size_t size;
    uint32_t value;
  };
  for (Case c : {Case{"\x00", 1, 0}, Case{"\x7F", 1, 127}, Case{"\x80\x01", 2, 128},
                 Case{"\xFF\x7F", 2, 16'383}, Case{"\x80\x80\x01", 3, 16'384},
                 Case{"\xFF\xFF\x7F", 3, 2'097'151}, Case{"\x80\x80\x80\x01", 4, 2'097'152},
                 Case{"\xFF\xFF\xFF\x7F", 4, 268'435'455}}) {
    WireReader r(std::string_view(c.bytes, c.size));
    uint32_t v = 0;
    ASSERT_TRUE(r.read_varint(&v)) << c.value;
    EXPECT_EQ(v, c.value);
    EXPECT_TRUE(r.empty());
    EXPECT_EQ(varint_size(c.value), c.size);
    std::string out;
    put_varint(c.value, &out);
    EXPECT_EQ(out, std::string_view(c.bytes, c.size));
  }
}

TEST(WireReaderTest, BadVarints) {
  uint32_t v = 0;
  WireReader five("\x80\x80\x80\x80\x01");
  EXPECT_FALSE(five.read_varint(&v));
  EXPECT_EQ(five.remaining(), 5u);
  WireReader truncated("\x80\x80");
  EXPECT_FALSE(truncated.read_varint(&v));
  WireReader empty("");
  EXPECT_FALSE(empty.read_varint(&v));
}

TEST(WireWriterTest, WritesBigEndian) {
  std::string out;
  put_u8(0xAB, &out);
  put_u16(0x1234, &out);
  put_u32(0xDEADBEEF, &out);
  put_prefixed("hi", &out);
  EXPECT_EQ(out, std::string_view("\xAB\x12\x34\xDE\xAD\xBE\xEF\x00\x02hi", 11));
}

}  // namespace
}  // namespace topicdb::mqtt
