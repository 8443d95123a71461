// FileAuth: the password file, the ACL file and the anonymous rule of `topicdb serve`,
// behind the broker's Authenticator and Authorizer seams. reload() (SIGHUP) rereads both
// files without touching a connection: checks from then on use the new contents, a file
// that fails to load keeps the old ones.
//
// Passwords are verified on libuv's thread pool (a $7$ hash with mosquitto 2.1's 210,000
// iterations costs ~150 ms of CPU: never on the loop). A successful check is remembered as
// an HMAC of the password under a key made at start-up, so a client reconnecting with the
// same password for the same stored hash is let in without hashing again. An unknown user
// costs a hash too, so timing does not tell which user names exist.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include <uv.h>

#include "base/status.h"
#include "broker/authenticator.h"
#include "broker/authorizer.h"
#include "plugins/acl_file.h"
#include "plugins/password_file.h"
#include "plugins/scram_auth.h"

namespace topicdb::plugins {

struct FileAuthOptions {
  std::string password_file;            // empty: no password file
  std::string acl_file;                 // empty: no ACL file (everything is allowed)
  std::optional<bool> allow_anonymous;  // unset: off with a password file, on without one
};

class FileAuth : public std::enable_shared_from_this<FileAuth> {
 public:
  // Loads the files; an unreadable file (or an ACL file with a bad line) is an error.
  static Result<std::shared_ptr<FileAuth>> open(uv_loop_t* loop, FileAuthOptions options);

  // Rereads the files. Each one that fails keeps its old contents; the first error is
  // returned (both are tried).
  Status reload();

  // What the broker needs: an Authenticator when there is a password file or anonymous
  // access is off (else null), an Authorizer when there is an ACL file (else null). Both
  // share this object's current contents.
  std::unique_ptr<broker::Authenticator> make_authenticator();
  std::unique_ptr<broker::Authorizer> make_authorizer();
  // SCRAM-SHA-256 (MQTT 5 enhanced authentication) with the keys of the password file's
  // "#scram" lines; null without a password file.
  std::unique_ptr<broker::AuthPlugin> make_scram_plugin();

  bool allow_anonymous() const { return allow_anonymous_; }
  // Basic authentication (see broker/authenticator.h).
  void check(const broker::ClientIdentity& client, std::optional<std::string_view> password,
             broker::Authenticator::Verdict done);
  const AclFile* acl() const { return acl_.get(); }

 private:
  FileAuth(uv_loop_t* loop, FileAuthOptions options);
  Status load_passwords();
  Status load_acl();
  std::string password_mac(std::string_view password) const;
  void remember(const std::string& user, const std::string& encoded, std::string mac);

  uv_loop_t* loop_;
  FileAuthOptions options_;
  bool allow_anonymous_;
  std::shared_ptr<const PasswordFile> passwords_;  // null: no password file
  std::shared_ptr<const AclFile> acl_;             // null: no ACL file
  PasswordHash decoy_;                             // verified for unknown users
  std::string mac_key_;                            // random, this process only
  struct Verified {
    std::string encoded;  // the stored hash it was checked against
    std::string mac;      // HMAC-SHA256(mac_key_, password)
  };
  std::unordered_map<std::string, Verified> verified_;  // by user name
};

}  // namespace topicdb::plugins
