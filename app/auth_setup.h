// AuthSetup: puts the password file, the ACL file and the anonymous rule of the config into
// the broker (plugins/file_auth.h), and rereads both files on SIGHUP without dropping a
// connection. Without either file and with anonymous access on, it does nothing.
#pragma once

#include <memory>

#include <uv.h>

#include "app/config.h"
#include "base/status.h"
#include "broker/broker.h"
#include "plugins/file_auth.h"

namespace topicdb::app {

class AuthSetup {
 public:
  // Loads the files (an unreadable file fails start-up) and installs the broker's
  // Authenticator and Authorizer. Call before the broker listens.
  static Result<std::unique_ptr<AuthSetup>> install(const Config& config, uv_loop_t* loop,
                                                    broker::Broker& broker);
  // Closes the SIGHUP watcher; its memory is freed by the loop's next run.
  ~AuthSetup();
  AuthSetup(const AuthSetup&) = delete;
  AuthSetup& operator=(const AuthSetup&) = delete;

 private:
  AuthSetup() = default;
  std::shared_ptr<plugins::FileAuth> auth_;
  uv_signal_t* sighup_ = nullptr;  // unreferenced: it never keeps the loop running
};

}  // namespace topicdb::app
