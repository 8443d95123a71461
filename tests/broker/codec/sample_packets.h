// A spread of valid packets of every type in one protocol version, shared by the codec's
// mutation test (fuzz_test.cc) and the libFuzzer seed-corpus generator (fuzz/).
// No GoogleTest here: the corpus generator is a plain program.
#pragma once

#include <vector>

#include "broker/codec/packets.h"

namespace topicdb::mqtt::codec_test {

// Every packet type valid in `v` (AUTH only in MQTT 5), with v5 properties where the packet
// allows them. A PublishPacket points at string literals, so the result owns nothing extra.
inline std::vector<Packet> sample_packets(ProtocolVersion v) {
  const bool v5 = v == ProtocolVersion::kV5;
  Properties props;
  if (v5) props.user_properties = {{"k", "v"}};
  std::vector<Packet> packets;

  ConnectPacket c;
  c.version = v;
  c.client_id = "fuzz";
  c.will = Will{"w/t", "bye", 1, true, {}};
  c.username = "u";
  c.password = "p";
  if (v5) {
    c.properties.session_expiry_interval = 5;
    c.properties.receive_maximum = 10;
    c.will->properties.will_delay_interval = 1;
  }
  packets.emplace_back(c);
  ConnectPacket minimal;
  minimal.version = v;
  minimal.client_id = "c";
  minimal.keep_alive = 10;
  packets.emplace_back(minimal);
  ConnectPacket will2;
  will2.version = v;
  will2.clean_start = false;
  will2.keep_alive = 0xFFFF;
  will2.client_id = "client-with-a-longer-id";
  will2.will = Will{"last/will", "", 2, false, {}};
  will2.username = "user";
  if (v5) {
    Properties& wp = will2.will->properties;
    wp.payload_format_indicator = 1;
    wp.message_expiry_interval = 3600;
    wp.content_type = "application/json";
    wp.response_topic = "reply/to";
    wp.correlation_data = "corr";
    wp.user_properties = {{"a", "1"}, {"a", "2"}};
    will2.properties.request_response_information = 1;
    will2.properties.user_properties = {{"client", "fuzz"}};
  }
  packets.emplace_back(will2);
  if (v5) {
    ConnectPacket auth;  // enhanced authentication, a password without a user name
    auth.version = v;
    auth.clean_start = false;
    auth.password = "pw";
    auth.properties.authentication_method = "SCRAM-SHA-256";
    auth.properties.authentication_data = std::string("\x00\x01", 2);
    auth.properties.request_problem_information = 0;
    auth.properties.topic_alias_maximum = 8;
    auth.properties.maximum_packet_size = 1024;
    packets.emplace_back(auth);
  }

  ConnackPacket ca;
  ca.session_present = true;
  ca.properties = props;
  if (v5) {
    ca.properties.maximum_qos = 1;
    ca.properties.assigned_client_identifier = "auto-1";
    ca.properties.retain_available = 0;
  }
  packets.emplace_back(ca);

  PublishPacket p;
  p.topic = "a/b";
  p.payload = "payload";
  p.qos = 1;
  p.packet_id = 3;
  p.properties = props;
  if (v5) p.properties.subscription_identifiers = {1, 300};
  packets.emplace_back(p);
  PublishPacket p0;
  p0.topic = "s";
  p0.retain = true;
  packets.emplace_back(p0);
  PublishPacket p2;
  p2.topic = "q/2";
  p2.payload = std::string_view("\x00\xff", 2);
  p2.qos = 2;
  p2.dup = true;
  p2.packet_id = 0xFFFF;
  if (v5) {
    p2.topic = "";  // a topic alias stands in for the topic (MQTT 5 §3.3.2.1)
    p2.properties.topic_alias = 1;
    p2.properties.payload_format_indicator = 1;
    p2.properties.message_expiry_interval = 60;
    p2.properties.content_type = "text/plain";
    p2.properties.response_topic = "r/t";
    p2.properties.correlation_data = "id";
  }
  packets.emplace_back(p2);

  for (PacketType t :
       {PacketType::kPuback, PacketType::kPubrec, PacketType::kPubrel, PacketType::kPubcomp}) {
    AckPacket a;
    a.type = t;
    a.packet_id = 9;
    a.properties = props;
    packets.emplace_back(a);
  }
  if (v5) {
    AckPacket a;
    a.type = PacketType::kPubrec;
    a.packet_id = 10;
    a.reason_code = reason::kNoMatchingSubscribers;
    packets.emplace_back(a);
  }

  SubscribePacket s;
  s.packet_id = 4;
  s.subscriptions = {{"a/+", 1, v5, false, 0}, {"#", 2}};
  s.properties = props;
  if (v5) {
    s.subscriptions.push_back({"$share/g/x", 0, false, true, 2});
    s.properties.subscription_identifiers = {7};
  }
  packets.emplace_back(s);
  SubackPacket sa;
  sa.packet_id = 4;
  sa.reason_codes = {1, 2, 0x80};
  sa.properties = props;
  packets.emplace_back(sa);
  UnsubscribePacket u;
  u.packet_id = 5;
  u.filters = {"a/+", "b"};
  u.properties = props;
  packets.emplace_back(u);
  UnsubackPacket ua;
  ua.packet_id = 5;
  if (v5) {
    ua.reason_codes = {0, reason::kNoSubscriptionExisted};
    ua.properties.reason_string = "r";
  }
  packets.emplace_back(ua);

  packets.emplace_back(PingreqPacket{});
  packets.emplace_back(PingrespPacket{});
  DisconnectPacket d;
  if (v5) {
    d.reason_code = reason::kServerShuttingDown;
    d.properties = props;
    d.properties.server_reference = "other:1883";
  }
  packets.emplace_back(d);
  if (v5) {
    packets.emplace_back(DisconnectPacket{});
    AuthPacket au;
    au.reason_code = reason::kContinueAuthentication;
    au.properties.authentication_method = "m";
    au.properties.authentication_data = "d";
    packets.emplace_back(au);
  }
  return packets;
}

}  // namespace topicdb::mqtt::codec_test
