// parse_frame_header and peek_connect_protocol_level.
#include <gtest/gtest.h>

#include <string>

#include "broker/codec/codec.h"
#include "tests/broker/codec/codec_test_util.h"

namespace topicdb::mqtt {
namespace {

using codec_test::Bytes;
using codec_test::kNoLimit;

TEST(FrameHeaderTest, EmptyInputNeedsMore) {
  FrameHeader h;
  Result<FrameStatus> r = parse_frame_header("", kNoLimit, &h);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(*r, FrameStatus::kNeedMore);
}

TEST(FrameHeaderTest, ParsesTwoByteHeader) {
  FrameHeader h;
  const std::string wire("\xC0\x00", 2);  // PINGREQ
  Result<FrameStatus> r = parse_frame_header(wire, kNoLimit, &h);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(*r, FrameStatus::kComplete);
  EXPECT_EQ(h.type(), PacketType::kPingreq);
  EXPECT_EQ(h.flags(), 0);
  EXPECT_EQ(h.remaining_length, 0u);
  EXPECT_EQ(h.header_size, 2u);
  EXPECT_EQ(h.total_size(), 2u);
}

TEST(FrameHeaderTest, CompleteBeforeBodyArrives) {
  // The header is complete even though none of the 5 body bytes is present.
  FrameHeader h;
  Result<FrameStatus> r = parse_frame_header("\x3B\x05", kNoLimit, &h);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(*r, FrameStatus::kComplete);
  EXPECT_EQ(h.type(), PacketType::kPublish);
  EXPECT_EQ(h.flags(), 0x0B);
  EXPECT_EQ(h.total_size(), 7u);
}

TEST(FrameHeaderTest, RemainingLengthBoundaries) {
  struct Case {
    uint32_t value;
    uint32_t header_size;
  };
  for (Case c : {Case{0, 2}, Case{127, 2}, Case{128, 3}, Case{16'383, 3}, Case{16'384, 4},
                 Case{2'097'151, 4}, Case{2'097'152, 5}, Case{268'435'455, 5}}) {
    Bytes b;
    b.u8(0x30).varint(c.value);
    FrameHeader h;
    Result<FrameStatus> r = parse_frame_header(b.str(), kNoLimit, &h);
    ASSERT_TRUE(r.is_ok()) << c.value;
    EXPECT_EQ(*r, FrameStatus::kComplete);
    EXPECT_EQ(h.remaining_length, c.value);
    EXPECT_EQ(h.header_size, c.header_size);
    EXPECT_EQ(h.total_size(), size_t{c.header_size} + c.value);
  }
}

TEST(FrameHeaderTest, MaximumRemainingLengthBytes) {
  // 0xFF 0xFF 0xFF 0x7F = 268,435,455, the largest four-byte value (MQTT 3.1.1 §2.2.3).
  FrameHeader h;
  Result<FrameStatus> r = parse_frame_header("\x30\xFF\xFF\xFF\x7F", kNoLimit, &h);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(h.remaining_length, 268'435'455u);
  EXPECT_EQ(h.header_size, 5u);
}

TEST(FrameHeaderTest, FifthLengthByteIsMalformed) {
  FrameHeader h;
  Result<FrameStatus> r = parse_frame_header("\x30\xFF\xFF\xFF\xFF\x01", kNoLimit, &h);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  // Decided as soon as the fourth byte shows a continuation bit.
  r = parse_frame_header("\x30\x80\x80\x80\x80", kNoLimit, &h);
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
}

TEST(FrameHeaderTest, PacketTypeZeroIsMalformed) {
  FrameHeader h;
  Result<FrameStatus> r = parse_frame_header(std::string("\x00\x00", 2), kNoLimit, &h);
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  // Refused from the first byte alone.
  r = parse_frame_header(std::string("\x0F", 1), kNoLimit, &h);
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
}

TEST(FrameHeaderTest, IncrementalOneByteAtATime) {
  Bytes b;
  b.u8(0x32).varint(300'000);  // three length bytes
  const std::string& wire = b.str();
  FrameHeader h;
  for (size_t n = 0; n < wire.size(); ++n) {
    Result<FrameStatus> r = parse_frame_header(std::string_view(wire).substr(0, n), kNoLimit, &h);
    ASSERT_TRUE(r.is_ok()) << n;
    EXPECT_EQ(*r, FrameStatus::kNeedMore) << n;
  }
  Result<FrameStatus> r = parse_frame_header(wire, kNoLimit, &h);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(*r, FrameStatus::kComplete);
  EXPECT_EQ(h.remaining_length, 300'000u);
  EXPECT_EQ(h.header_size, 4u);
  EXPECT_EQ(h.first_byte, 0x32);
}

TEST(FrameHeaderTest, IncrementalWithBodyBytesFollowing) {
  // Extra bytes after the header (body, next packet) do not disturb header parsing.
  const std::string wire("\x82\x06\x00\x01\x00\x01\x61\x00\xC0\x00", 10);
  FrameHeader h;
  for (size_t n = 2; n <= wire.size(); ++n) {
    Result<FrameStatus> r = parse_frame_header(std::string_view(wire).substr(0, n), kNoLimit, &h);
    ASSERT_TRUE(r.is_ok());
    EXPECT_EQ(*r, FrameStatus::kComplete);
    EXPECT_EQ(h.total_size(), 8u);
  }
}

TEST(FrameHeaderTest, MaxPacketSizeRefusedFromHeaderAlone) {
  FrameHeader h;
  // Total 2 + 100 = 102 bytes; no body bytes are supplied.
  Result<FrameStatus> r = parse_frame_header("\x30\x64", 101, &h);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), Status::Code::kResourceExhausted);
  r = parse_frame_header("\x30\x64", 102, &h);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(*r, FrameStatus::kComplete);
}

TEST(FrameHeaderTest, HugeAnnouncedLengthRefused) {
  FrameHeader h;
  Result<FrameStatus> r = parse_frame_header("\x30\xFF\xFF\xFF\x7F", 1024 * 1024, &h);
  EXPECT_EQ(r.status().code(), Status::Code::kResourceExhausted);
}

TEST(FrameHeaderTest, LimitCountsHeaderBytes) {
  // Remaining length 127 takes one length byte (total 129); 128 takes two (total 131).
  FrameHeader h;
  EXPECT_TRUE(parse_frame_header("\x30\x7F", 129, &h).is_ok());
  EXPECT_FALSE(parse_frame_header("\x30\x7F", 128, &h).is_ok());
  EXPECT_TRUE(parse_frame_header("\x30\x80\x01", 131, &h).is_ok());
  EXPECT_EQ(parse_frame_header("\x30\x80\x01", 130, &h).status().code(),
            Status::Code::kResourceExhausted);
}

TEST(PeekProtocolLevelTest, ReadsLevel) {
  Bytes v5;
  v5.str("MQTT").u8(5).u8(0x02).u16(60);
  EXPECT_EQ(peek_connect_protocol_level(v5.str()), 5);
  Bytes v311;
  v311.str("MQTT").u8(4);
  EXPECT_EQ(peek_connect_protocol_level(v311.str()), 4);
  Bytes v31;
  v31.str("MQIsdp").u8(3).u8(0x02).u16(60);
  EXPECT_EQ(peek_connect_protocol_level(v31.str()), 3);
}

TEST(PeekProtocolLevelTest, UnreadableIsZero) {
  EXPECT_EQ(peek_connect_protocol_level(""), 0);
  EXPECT_EQ(peek_connect_protocol_level(std::string("\x00", 1)), 0);
  EXPECT_EQ(peek_connect_protocol_level(std::string("\x00\x04MQTT", 6)), 0);
  EXPECT_EQ(peek_connect_protocol_level(std::string("\x00\x09MQTT\x04", 7)), 0);
}

}  // namespace
}  // namespace topicdb::mqtt
