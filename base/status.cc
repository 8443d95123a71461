#include "base/status.h"

namespace topicdb {

namespace {
const char* code_name(Status::Code code) {
  switch (code) {
    case Status::Code::kOk:
      return "ok";
    case Status::Code::kInvalidArgument:
      return "invalid argument";
    case Status::Code::kProtocolError:
      return "protocol error";
    case Status::Code::kNotFound:
      return "not found";
    case Status::Code::kAlreadyExists:
      return "already exists";
    case Status::Code::kResourceExhausted:
      return "resource exhausted";
    case Status::Code::kIoError:
      return "I/O error";
    case Status::Code::kCorruption:
      return "corruption";
    case Status::Code::kUnsupported:
      return "unsupported";
    case Status::Code::kInternal:
      return "internal error";
    case Status::Code::kPermissionDenied:
      return "permission denied";
    case Status::Code::kUnauthenticated:
      return "unauthenticated";
    case Status::Code::kUnavailable:
      return "unavailable";
  }
  return "unknown";
}
}  // namespace

std::string Status::to_string() const {
  if (is_ok()) return "ok";
  return std::string(code_name(code_)) + ": " + message_;
}

}  // namespace topicdb
