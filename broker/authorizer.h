// Authorizer: the seam that decides whether a client may connect, publish to a topic or
// subscribe to a filter. The broker asks it after authentication and topic-alias
// resolution, and turns a refusal into the reason code of the packet's answer
// (reason_codes.h). The default allows everything, as the broker always has; the password
// file, ACL file and plugins plug in here.
#pragma once

#include <cstdint>
#include <string_view>

#include "base/status.h"
#include "broker/codec/packets.h"

namespace topicdb::broker {

// Who is asking: the facts the broker knows about a connected (or connecting) client.
struct ClientIdentity {
  std::string_view client_id;
  std::string_view username;  // empty when the client sent none
  bool has_username = false;
  mqtt::ProtocolVersion version = mqtt::ProtocolVersion::kV311;
  // "IP:PORT" of the peer, set only where said (basic authentication, BrokerObserver's
  // connect): finding it costs a system call, too much for every PUBLISH.
  std::string_view address;
};

class Authorizer {
 public:
  virtual ~Authorizer() = default;
  // After authentication, before the session is touched. A refusal gets CONNACK with the
  // mapped code (kPermissionDenied: 0x87 / 3.1.1 0x05; kUnauthenticated: 0x86 / 0x05).
  virtual Status authorize_connect(const ClientIdentity& client) = 0;
  // A client PUBLISH (after topic-alias resolution) or a will when it is about to be sent.
  // A refused PUBLISH is dropped: MQTT 5 clients get 0x87 in the PUBACK/PUBREC.
  virtual Status authorize_publish(const ClientIdentity& client, std::string_view topic,
                                   uint8_t qos, bool retain) = 0;
  // One filter of a SUBSCRIBE; a refusal is that filter's SUBACK failure code.
  virtual Status authorize_subscribe(const ClientIdentity& client, std::string_view filter,
                                     uint8_t qos) = 0;
};

// The default: everyone may do everything (no password or ACL file configured).
class AllowAllAuthorizer final : public Authorizer {
 public:
  Status authorize_connect(const ClientIdentity&) override { return Status::ok(); }
  Status authorize_publish(const ClientIdentity&, std::string_view, uint8_t, bool) override {
    return Status::ok();
  }
  Status authorize_subscribe(const ClientIdentity&, std::string_view, uint8_t) override {
    return Status::ok();
  }
};

}  // namespace topicdb::broker
