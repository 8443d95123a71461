// Internal to the codec: reading, validating and writing MQTT 5 property blocks
// (MQTT 5 §2.2.2). Not part of the public codec interface.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "base/status.h"
#include "broker/codec/properties.h"
#include "broker/codec/wire.h"

namespace topicdb::mqtt {

// Which packet (or part of one) a property block belongs to; each has its own allowed set
// (MQTT 5 §2.2.2.2).
enum class PropertyContext : uint8_t {
  kConnect,
  kWill,
  kConnack,
  kPublish,
  kPubAck,  // PUBACK, PUBREC, PUBREL, PUBCOMP
  kSubscribe,
  kSuback,
  kUnsubscribe,
  kUnsuback,
  kDisconnect,
  kAuth,
};

// Reads a property block (variable byte integer length, then the properties) from *r into
// *out, which must start empty. Errors: kInvalidArgument (malformed: truncated, unknown
// identifier, bad UTF-8), kProtocolError (property not allowed here, repeated, or an
// invalid value).
Status decode_properties(WireReader* r, PropertyContext context, Properties* out);

// Bytes the property block takes on the wire, length prefix included.
size_t properties_wire_size(const Properties& p);

// Appends the property block, length prefix included. Properties are written in identifier
// order, user properties in their stored order.
void encode_properties(const Properties& p, std::string* out);

}  // namespace topicdb::mqtt
