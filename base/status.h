// Status and Result<T>: errors as values (leveldb's Status is the model). No exceptions
// cross the event loop; library exceptions are caught at the boundary and turned into these.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace topicdb {

class Status {
 public:
  enum class Code {
    kOk = 0,
    kInvalidArgument,  // bad input from a user or a peer
    kProtocolError,    // a peer broke the MQTT rules
    kNotFound,
    kAlreadyExists,
    kResourceExhausted,  // a configured limit was reached
    kIoError,
    kCorruption,
    kUnsupported,
    kInternal,
    kPermissionDenied,  // the caller is known but may not do this (authorization)
    kUnauthenticated,   // the caller could not prove who it is (authentication)
    kUnavailable,       // try again later: shutting down, overloaded, a limit in flight
  };

  Status() = default;
  static Status ok() { return Status(); }
  static Status invalid_argument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
  static Status protocol_error(std::string m) { return {Code::kProtocolError, std::move(m)}; }
  static Status not_found(std::string m) { return {Code::kNotFound, std::move(m)}; }
  static Status already_exists(std::string m) { return {Code::kAlreadyExists, std::move(m)}; }
  static Status resource_exhausted(std::string m) {
    return {Code::kResourceExhausted, std::move(m)};
  }
  static Status io_error(std::string m) { return {Code::kIoError, std::move(m)}; }
  static Status corruption(std::string m) { return {Code::kCorruption, std::move(m)}; }
  static Status unsupported(std::string m) { return {Code::kUnsupported, std::move(m)}; }
  static Status internal(std::string m) { return {Code::kInternal, std::move(m)}; }
  static Status permission_denied(std::string m) { return {Code::kPermissionDenied, std::move(m)}; }
  static Status unauthenticated(std::string m) { return {Code::kUnauthenticated, std::move(m)}; }
  static Status unavailable(std::string m) { return {Code::kUnavailable, std::move(m)}; }

  bool is_ok() const { return code_ == Code::kOk; }
  explicit operator bool() const { return is_ok(); }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  std::string to_string() const;

 private:
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}
  Code code_ = Code::kOk;
  std::string message_;
};

// Result<T> holds either a value or a non-ok Status.
template <typename T>
class Result {
 public:
  Result(T value) : state_(std::move(value)) {}        // NOLINT(google-explicit-constructor)
  Result(Status status) : state_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    assert(!std::get<Status>(state_).is_ok());
  }

  bool is_ok() const { return std::holds_alternative<T>(state_); }
  explicit operator bool() const { return is_ok(); }
  const Status& status() const {
    static const Status kOk;
    return is_ok() ? kOk : std::get<Status>(state_);
  }
  T& value() & { return std::get<T>(state_); }
  const T& value() const& { return std::get<T>(state_); }
  T&& value() && { return std::get<T>(std::move(state_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> state_;
};

}  // namespace topicdb

// Early-return helpers for code paths that chain fallible steps.
#define TDB_RETURN_IF_ERROR(expr)                 \
  do {                                            \
    ::topicdb::Status tdb_status_ = (expr);       \
    if (!tdb_status_.is_ok()) return tdb_status_; \
  } while (0)
