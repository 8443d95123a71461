#include "broker/topic_rules.h"

#include <gtest/gtest.h>

#include <string>

namespace topicdb::mqtt {
namespace {

using namespace std::string_literals;

TEST(Utf8Test, AcceptsAsciiAndEmpty) {
  EXPECT_TRUE(is_valid_mqtt_utf8(""));
  EXPECT_TRUE(is_valid_mqtt_utf8("sensors/room-1/temp"));
}

TEST(Utf8Test, AllowsControlCharacters) {
  // MQTT discourages U+0001..U+001F and U+007F..U+009F but does not forbid them.
  EXPECT_TRUE(is_valid_mqtt_utf8("\x01\x1f\x7f"));
  EXPECT_TRUE(is_valid_mqtt_utf8("\xC2\x80\xC2\x9F"));  // U+0080, U+009F
}

TEST(Utf8Test, RejectsNul) {
  EXPECT_FALSE(is_valid_mqtt_utf8("a\0b"s));  // MQTT-1.5.3-2
  EXPECT_FALSE(is_valid_mqtt_utf8("\0"s));
}

TEST(Utf8Test, AcceptsMultiByteBoundaries) {
  EXPECT_TRUE(is_valid_mqtt_utf8("\xC2\x80"));          // U+0080, smallest 2-byte
  EXPECT_TRUE(is_valid_mqtt_utf8("\xDF\xBF"));          // U+07FF
  EXPECT_TRUE(is_valid_mqtt_utf8("\xE0\xA0\x80"));      // U+0800, smallest 3-byte
  EXPECT_TRUE(is_valid_mqtt_utf8("\xED\x9F\xBF"));      // U+D7FF, just below surrogates
  EXPECT_TRUE(is_valid_mqtt_utf8("\xEE\x80\x80"));      // U+E000, just above surrogates
  EXPECT_TRUE(is_valid_mqtt_utf8("\xEF\xBF\xBF"));      // U+FFFF (non-character, allowed)
  EXPECT_TRUE(is_valid_mqtt_utf8("\xF0\x90\x80\x80"));  // U+10000, smallest 4-byte
  EXPECT_TRUE(is_valid_mqtt_utf8("\xF4\x8F\xBF\xBF"));  // U+10FFFF, the maximum
  EXPECT_TRUE(is_valid_mqtt_utf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"));
}

TEST(Utf8Test, RejectsOverlongEncodings) {
  EXPECT_FALSE(is_valid_mqtt_utf8("\xC0\x80"));          // overlong U+0000
  EXPECT_FALSE(is_valid_mqtt_utf8("\xC1\xBF"));          // overlong U+007F
  EXPECT_FALSE(is_valid_mqtt_utf8("\xE0\x9F\xBF"));      // overlong U+07FF
  EXPECT_FALSE(is_valid_mqtt_utf8("\xF0\x8F\xBF\xBF"));  // overlong U+FFFF
  EXPECT_FALSE(is_valid_mqtt_utf8("\xE0\x80\xAF"));      // overlong '/'
}

TEST(Utf8Test, RejectsSurrogates) {
  EXPECT_FALSE(is_valid_mqtt_utf8("\xED\xA0\x80"));              // U+D800, MQTT-1.5.3-1
  EXPECT_FALSE(is_valid_mqtt_utf8("\xED\xBF\xBF"));              // U+DFFF
  EXPECT_FALSE(is_valid_mqtt_utf8("\xED\xA0\xBD\xED\xB8\x80"));  // CESU-8 pair
}

TEST(Utf8Test, RejectsAboveMaxCodePoint) {
  EXPECT_FALSE(is_valid_mqtt_utf8("\xF4\x90\x80\x80"));      // U+110000
  EXPECT_FALSE(is_valid_mqtt_utf8("\xF7\xBF\xBF\xBF"));      // U+1FFFFF
  EXPECT_FALSE(is_valid_mqtt_utf8("\xF8\x88\x80\x80\x80"));  // 5-byte form
  EXPECT_FALSE(is_valid_mqtt_utf8("\xFE"));
  EXPECT_FALSE(is_valid_mqtt_utf8("\xFF"));
}

TEST(Utf8Test, RejectsBrokenSequences) {
  EXPECT_FALSE(is_valid_mqtt_utf8("\x80"));              // lone continuation byte
  EXPECT_FALSE(is_valid_mqtt_utf8("a\xBF"));             // continuation after ASCII
  EXPECT_FALSE(is_valid_mqtt_utf8("\xC3"));              // truncated 2-byte
  EXPECT_FALSE(is_valid_mqtt_utf8("\xE2\x82"));          // truncated 3-byte
  EXPECT_FALSE(is_valid_mqtt_utf8("\xF0\x9F\x98"));      // truncated 4-byte
  EXPECT_FALSE(is_valid_mqtt_utf8("\xC3\x28"));          // bad continuation
  EXPECT_FALSE(is_valid_mqtt_utf8("\xE2\x28\xA1"));      // bad second byte
  EXPECT_FALSE(is_valid_mqtt_utf8("\xF0\x9F\x98\x28"));  // bad last byte
}

TEST(TopicNameTest, ValidNames) {
  EXPECT_TRUE(is_valid_topic_name("a"));
  EXPECT_TRUE(is_valid_topic_name("/"));
  EXPECT_TRUE(is_valid_topic_name("a/b/c"));
  EXPECT_TRUE(is_valid_topic_name("/leading/and/trailing/"));
  EXPECT_TRUE(is_valid_topic_name("a//b"));
  EXPECT_TRUE(is_valid_topic_name("$SYS/broker/uptime"));
  EXPECT_TRUE(is_valid_topic_name(" "));
}

TEST(TopicNameTest, InvalidNames) {
  EXPECT_FALSE(is_valid_topic_name(""));  // MQTT-4.7.3-1
  EXPECT_FALSE(is_valid_topic_name("#"));
  EXPECT_FALSE(is_valid_topic_name("+"));
  EXPECT_FALSE(is_valid_topic_name("a/+/b"));
  EXPECT_FALSE(is_valid_topic_name("a/#"));
  EXPECT_FALSE(is_valid_topic_name("a+"));
  EXPECT_FALSE(is_valid_topic_name("a#b"));
}

TEST(TopicFilterTest, ValidFilters) {
  for (const char* f :
       {"a", "/", "a/#", "#", "+", "a/+/b", "+/+", "+/#", "/#", "/+", "+/", "a/b/c", "a//b",
        "$SYS/#", "$share/g/a/+", "$share/group/filter", "sport/tennis/+/#"}) {
    EXPECT_TRUE(is_valid_topic_filter(f)) << f;
  }
}

TEST(TopicFilterTest, InvalidFilters) {
  for (const char* f : {"", "a#", "a/#/b", "a+", "+a", "a/b+", "a/+b/c", "##", "#/", "#/a", "++",
                        "a/##", "sport/tennis#", "a/b#"}) {
    EXPECT_FALSE(is_valid_topic_filter(f)) << f;
  }
}

}  // namespace
}  // namespace topicdb::mqtt
