// MQTT 5 PUBLISH properties that the broker must forward unaltered (§3.3.2.3: Payload Format
// Indicator MQTT-3.3.2-4, Content Type MQTT-3.3.2-20, Response Topic MQTT-3.3.2-15,
// Correlation Data MQTT-3.3.2-16, User Properties MQTT-3.3.2-17/18) and request/response
// (§4.10) with three different clients.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "tests/integration/v5_client.h"
#include "tests/integration/v5_tools.h"

namespace topicdb::itest::v5 {
namespace {

using UserProps = std::vector<std::pair<std::string, std::string>>;

class V5PropertiesTest : public V5Test {};

// Raw client to raw client: every forwarded property byte-exact, user properties in order
// with repeated keys, binary correlation data with NUL bytes.
TEST_F(V5PropertiesTest, RawPublishPropertiesArriveUnchanged) {
  V5Client sub(port());
  ASSERT_TRUE(sub.connect("props-sub"));
  ASSERT_TRUE(sub.subscribe("props/raw", 1));
  V5Client pub(port());
  ASSERT_TRUE(pub.connect("props-pub"));
  m::Properties props;
  props.payload_format_indicator = 1;
  props.content_type = "application/json; charset=utf-8";
  props.response_topic = "props/reply/42";
  props.correlation_data = std::string(
      "\x00\xff\x10"
      "corr",
      7);
  props.user_properties = {{"z-first", "1"}, {"a", "x"}, {"a", "y"}, {"", ""}, {"ünï", "cødé"}};
  ASSERT_TRUE(pub.publish("props/raw", "{\"v\":1}", 1, props));
  auto msg = sub.recv_publish();
  ASSERT_TRUE(msg);
  EXPECT_EQ(msg->payload, "{\"v\":1}");
  EXPECT_EQ(msg->props.payload_format_indicator, props.payload_format_indicator);
  EXPECT_EQ(msg->props.content_type, props.content_type);
  EXPECT_EQ(msg->props.response_topic, props.response_topic);
  EXPECT_EQ(msg->props.correlation_data, props.correlation_data)
      << hex_of(msg->props.correlation_data.value_or("(none)"));
  EXPECT_EQ(msg->props.user_properties, props.user_properties) << describe(msg->props);
  // Nothing invented on the way.
  EXPECT_FALSE(msg->props.message_expiry_interval.has_value());
  EXPECT_TRUE(msg->props.subscription_identifiers.empty());
  EXPECT_FALSE(msg->props.topic_alias.has_value());
}

// A payload format indicator of 0 is forwarded as given, too (MQTT-3.3.2-4: unaltered).
TEST_F(V5PropertiesTest, PayloadFormatIndicatorZeroForwarded) {
  V5Client sub(port());
  ASSERT_TRUE(sub.connect("pfi-sub"));
  ASSERT_TRUE(sub.subscribe("props/pfi", 0));
  V5Client pub(port());
  ASSERT_TRUE(pub.connect("pfi-pub"));
  m::Properties props;
  props.payload_format_indicator = 0;
  ASSERT_TRUE(pub.publish("props/pfi", std::string("\xff\xfe", 2), 0, props));
  auto msg = sub.recv_publish();
  ASSERT_TRUE(msg);
  EXPECT_EQ(msg->props.payload_format_indicator, std::optional<uint8_t>(0)) << describe(*msg);
}

// Paho v5 publisher -> Paho v5 subscriber.
TEST_F(V5PropertiesTest, PahoPropertiesArriveUnchanged) {
  PahoV5 sub(port(), "paho-props-sub");
  ASSERT_TRUE(sub.connect());
  ASSERT_TRUE(sub.subscribe("props/paho", 1));
  PahoV5 pub(port(), "paho-props-pub");
  ASSERT_TRUE(pub.connect());

  const std::string correlation("\x01\x00\x02req-7", 8);
  ::mqtt::properties props{
      {::mqtt::property::PAYLOAD_FORMAT_INDICATOR, 1},
      {::mqtt::property::CONTENT_TYPE, "text/plain"},
      {::mqtt::property::RESPONSE_TOPIC, "props/paho/reply"},
      {::mqtt::property::CORRELATION_DATA, correlation},
      {::mqtt::property::USER_PROPERTY, "trace", "abc"},
      {::mqtt::property::USER_PROPERTY, "hop", "1"},
      {::mqtt::property::USER_PROPERTY, "hop", "2"},
  };
  auto msg = ::mqtt::make_message("props/paho", "hello paho", 1, false);
  msg->set_properties(props);
  ASSERT_TRUE(pub.publish(msg));

  auto got = sub.receive();
  ASSERT_TRUE(got) << "Paho v5 subscriber got nothing";
  EXPECT_EQ(got->get_payload_str(), "hello paho");
  const auto& p = got->get_properties();
  ASSERT_TRUE(p.contains(::mqtt::property::PAYLOAD_FORMAT_INDICATOR));
  EXPECT_EQ(::mqtt::get<uint8_t>(p, ::mqtt::property::PAYLOAD_FORMAT_INDICATOR), 1);
  ASSERT_TRUE(p.contains(::mqtt::property::CONTENT_TYPE));
  EXPECT_EQ(::mqtt::get<std::string>(p, ::mqtt::property::CONTENT_TYPE), "text/plain");
  ASSERT_TRUE(p.contains(::mqtt::property::RESPONSE_TOPIC));
  EXPECT_EQ(::mqtt::get<std::string>(p, ::mqtt::property::RESPONSE_TOPIC), "props/paho/reply");
  ASSERT_TRUE(p.contains(::mqtt::property::CORRELATION_DATA));
  EXPECT_EQ(::mqtt::get<std::string>(p, ::mqtt::property::CORRELATION_DATA), correlation);
  std::vector<std::string> expected = {"trace=abc", "hop=1", "hop=2"};
  EXPECT_EQ(paho_user_properties(p), expected);
}

// mosquitto_pub -V 5 -> mosquitto_sub -V 5, properties printed with -F.
TEST_F(V5PropertiesTest, MosquittoToolsPropertiesArriveUnchanged) {
  MosqSubV5 sub;
  ASSERT_TRUE(sub.start(port(), "%t|%F|%C|%R|%D|%P|%p",
                        {"-q", "1", "-C", "1", "-W", "10", "-t", "props/mosq"}));
  ASSERT_TRUE(mosquitto_pub_v5(port(), {"-t",
                                        "props/mosq",
                                        "-m",
                                        "from-mosquitto",
                                        "-q",
                                        "1",
                                        "-D",
                                        "publish",
                                        "payload-format-indicator",
                                        "1",
                                        "-D",
                                        "publish",
                                        "content-type",
                                        "text/csv",
                                        "-D",
                                        "publish",
                                        "response-topic",
                                        "props/mosq/reply",
                                        "-D",
                                        "publish",
                                        "correlation-data",
                                        "corr-123",
                                        "-D",
                                        "publish",
                                        "user-property",
                                        "b",
                                        "2",
                                        "-D",
                                        "publish",
                                        "user-property",
                                        "a",
                                        "1",
                                        "-D",
                                        "publish",
                                        "user-property",
                                        "b",
                                        "3"}));
  auto lines = sub.collect(1, milliseconds(5000));
  ASSERT_EQ(lines.size(), 1u) << "mosquitto_sub output:\n" << sub.log();
  auto fields = split(lines[0], '|');
  ASSERT_EQ(fields.size(), 7u) << lines[0];
  EXPECT_EQ(fields[0], "props/mosq");
  EXPECT_EQ(fields[1], "1");
  EXPECT_EQ(fields[2], "text/csv");
  EXPECT_EQ(fields[3], "props/mosq/reply");
  EXPECT_EQ(fields[4], "corr-123");
  EXPECT_EQ(fields[5], "b:2 a:1 b:3") << "user properties reordered or lost";
  EXPECT_EQ(fields[6], "from-mosquitto");
}

// Request/response (§4.10): the requester sends Response Topic + Correlation Data, a
// responder answers on that topic echoing the correlation data, the requester gets it.
TEST_F(V5PropertiesTest, RequestResponseRoundTrip) {
  V5Client responder(port());
  ASSERT_TRUE(responder.connect("responder"));
  ASSERT_TRUE(responder.subscribe("rpc/add", 1));

  PahoV5 requester(port(), "requester");
  ASSERT_TRUE(requester.connect());
  ASSERT_TRUE(requester.subscribe("rpc/replies/requester", 1));
  const std::string correlation("\x00req-1\xff", 7);
  auto request = ::mqtt::make_message("rpc/add", "2+3", 1, false);
  request->set_properties(::mqtt::properties{
      {::mqtt::property::RESPONSE_TOPIC, "rpc/replies/requester"},
      {::mqtt::property::CORRELATION_DATA, correlation},
  });
  ASSERT_TRUE(requester.publish(request));

  auto req = responder.recv_publish();
  ASSERT_TRUE(req) << "responder got no request";
  EXPECT_EQ(req->payload, "2+3");
  ASSERT_TRUE(req->props.response_topic.has_value()) << describe(*req);
  ASSERT_TRUE(req->props.correlation_data.has_value()) << describe(*req);
  EXPECT_EQ(*req->props.correlation_data, correlation);
  m::Properties reply_props;
  reply_props.correlation_data = req->props.correlation_data;
  ASSERT_TRUE(responder.publish(*req->props.response_topic, "5", 1, reply_props));

  auto reply = requester.receive();
  ASSERT_TRUE(reply) << "requester got no response";
  EXPECT_EQ(reply->get_topic(), "rpc/replies/requester");
  EXPECT_EQ(reply->get_payload_str(), "5");
  const auto& p = reply->get_properties();
  ASSERT_TRUE(p.contains(::mqtt::property::CORRELATION_DATA));
  EXPECT_EQ(::mqtt::get<std::string>(p, ::mqtt::property::CORRELATION_DATA), correlation);
}

// The Response Information from CONNACK is usable as a prefix for response topics (§4.10.1).
TEST_F(V5PropertiesTest, ResponseInformationPrefixIsUsable) {
  V5Client requester(port());
  m::ConnectPacket p = V5Client::connect_packet("rr-prefix");
  p.properties.request_response_information = 1;
  m::ConnackPacket ack;
  ASSERT_TRUE(requester.connect(p, &ack));
  ASSERT_TRUE(ack.properties.response_information.has_value());
  const std::string reply_topic = *ack.properties.response_information + "/reply";
  ASSERT_TRUE(requester.subscribe(reply_topic, 1));

  V5Client responder(port());
  ASSERT_TRUE(responder.connect("rr-responder"));
  ASSERT_TRUE(responder.publish(reply_topic, "pong", 1));
  auto msg = requester.recv_publish();
  ASSERT_TRUE(msg);
  EXPECT_EQ(msg->topic, reply_topic);
  EXPECT_EQ(msg->payload, "pong");
}

}  // namespace
}  // namespace topicdb::itest::v5
