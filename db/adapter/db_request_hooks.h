// DbRequestHooks: the seam through which plugins see $DB requests in the adapter. before()
// runs on the loop thread after the request is parsed and before it reaches the store (so a
// veto costs no transaction); after() runs on the loop thread once a write's answer is ok.
// A write is never half-vetoed: before() answers for the whole request.
#pragma once

#include <optional>
#include <string_view>

#include "broker/authorizer.h"
#include "db/answer.h"
#include "db/request.h"

namespace topicdb::db::adapter {

class DbRequestHooks {
 public:
  virtual ~DbRequestHooks() = default;
  // Every parsed request (reads too). nullopt lets it run; an Answer (an error) is what the
  // requester gets instead, and the request does not run.
  virtual std::optional<Answer> before(const broker::ClientIdentity& client,
                                       const Request& request) = 0;
  // A write (is_write) that ran and answered ok; `answer` is that answer.
  virtual void after(const broker::ClientIdentity& client, const Request& request,
                     const Answer& answer) = 0;
  // False spares the handler a copy of every write's request kept for after().
  virtual bool wants_after() const { return true; }
};

}  // namespace topicdb::db::adapter
