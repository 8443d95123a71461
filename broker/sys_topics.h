// $SYS/...: the broker's own statistics topics. Their handler makes the prefix read-only
// for clients: a PUBLISH is refused (MQTT 5 clients get 0x87), subscriptions are allowed.
#pragma once

#include "broker/reserved_topics.h"

namespace topicdb::broker {

class SysTopicsHandler final : public ReservedTopicHandler {
 public:
  void on_publish(ReservedPublish request, ReservedCompletion done) override;
  Status authorize_subscribe(const ClientIdentity& client, std::string_view filter) override;
};

}  // namespace topicdb::broker
