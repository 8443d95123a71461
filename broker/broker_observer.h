// BrokerObserver: the seam through which plugins watch what happens on the broker (a client
// connected or left, a client's message was accepted). It only observes: it cannot refuse
// (the Authenticator and Authorizer decide) and it runs on the loop thread, so it must not
// block.
#pragma once

#include <cstdint>
#include <string_view>

#include "broker/authorizer.h"

namespace topicdb::broker {

class BrokerObserver {
 public:
  virtual ~BrokerObserver() = default;
  // After the CONNACK that accepted the client was queued. `client.address` is set.
  virtual void on_client_connected(const ClientIdentity& client) = 0;
  // A connected client's connection is closing (DISCONNECT, network error, takeover).
  virtual void on_client_disconnected(const ClientIdentity& client) = 0;
  // A client PUBLISH that passed authorization (reserved topics such as $DB/ included),
  // before it is routed. The views are valid only during the call.
  virtual void on_message_published(const ClientIdentity& publisher, std::string_view topic,
                                    std::string_view payload, uint8_t qos, bool retain) = 0;
};

}  // namespace topicdb::broker
