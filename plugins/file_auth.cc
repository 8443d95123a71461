#include "plugins/file_auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <utility>

#include "base/log.h"

namespace topicdb::plugins {

namespace {

constexpr size_t kMaxVerified = 100000;  // remembered logins; beyond, start over

using broker::ClientIdentity;

class FileAuthenticator final : public broker::Authenticator {
 public:
  explicit FileAuthenticator(std::shared_ptr<FileAuth> auth) : auth_(std::move(auth)) {}
  void check(const ClientIdentity& client, std::optional<std::string_view> password,
             Verdict done) override {
    auth_->check(client, password, std::move(done));
  }

 private:
  std::shared_ptr<FileAuth> auth_;
};

AclClient acl_client(const ClientIdentity& who) {
  return AclClient{who.client_id, who.username, who.has_username};
}

class AclAuthorizer final : public broker::Authorizer {
 public:
  explicit AclAuthorizer(std::shared_ptr<FileAuth> auth) : auth_(std::move(auth)) {}
  Status authorize_connect(const ClientIdentity&) override { return Status::ok(); }
  Status authorize_publish(const ClientIdentity& who, std::string_view topic, uint8_t,
                           bool) override {
    if (auth_->acl()->may_publish(acl_client(who), topic)) return Status::ok();
    return Status::permission_denied("the ACL file does not allow publishing to this topic");
  }
  Status authorize_subscribe(const ClientIdentity& who, std::string_view filter, uint8_t) override {
    if (auth_->acl()->may_subscribe(acl_client(who), filter)) return Status::ok();
    return Status::permission_denied("the ACL file does not allow reading all of this filter");
  }

 private:
  std::shared_ptr<FileAuth> auth_;
};

// One password check on the thread pool. Owns copies of all it reads there.
struct VerifyWork {
  uv_work_t req;
  PasswordHash stored;
  bool known_user = false;
  std::string user;
  std::string password;
  bool verified = false;
  std::weak_ptr<FileAuth> auth;
  std::string mac;  // computed on the loop before queueing (the key stays on the loop)
  broker::Authenticator::Verdict done;
};

}  // namespace

FileAuth::FileAuth(uv_loop_t* loop, FileAuthOptions options)
    : loop_(loop),
      options_(std::move(options)),
      allow_anonymous_(options_.allow_anonymous.value_or(options_.password_file.empty())) {
  decoy_.kind = PasswordHashKind::kPbkdf2Sha512;
  decoy_.iterations = kDefaultPbkdf2Iterations;
  decoy_.salt.assign(kPbkdf2SaltBytes, '\0');
  decoy_.digest.assign(64, '\0');
  mac_key_.assign(32, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(mac_key_.data()), static_cast<int>(mac_key_.size()));
}

Result<std::shared_ptr<FileAuth>> FileAuth::open(uv_loop_t* loop, FileAuthOptions options) {
  std::shared_ptr<FileAuth> auth(new FileAuth(loop, std::move(options)));
  TDB_RETURN_IF_ERROR(auth->load_passwords());
  TDB_RETURN_IF_ERROR(auth->load_acl());
  return auth;
}

Status FileAuth::load_passwords() {
  if (options_.password_file.empty()) return Status::ok();
  std::vector<std::string> warnings;
  auto file = PasswordFile::load(options_.password_file, &warnings);
  if (!file.is_ok()) return file.status();
  for (const std::string& w : warnings) log::warn("{}: {}", options_.password_file, w);
  log::info("password file {}: {} users", options_.password_file, file->size());
  passwords_ = std::make_shared<const PasswordFile>(std::move(*file));
  if (int usual = passwords_->usual_pbkdf2_iterations(); usual > 0) decoy_.iterations = usual;
  verified_.clear();
  return Status::ok();
}

Status FileAuth::load_acl() {
  if (options_.acl_file.empty()) return Status::ok();
  auto acl = AclFile::load(options_.acl_file);
  if (!acl.is_ok()) return acl.status();
  log::info("ACL file {}: {} users", options_.acl_file, acl->user_count());
  acl_ = std::make_shared<const AclFile>(std::move(*acl));
  return Status::ok();
}

Status FileAuth::reload() {
  Status passwords = load_passwords();
  if (!passwords.is_ok()) log::error("keeping the old password file: {}", passwords.message());
  Status acl = load_acl();
  if (!acl.is_ok()) log::error("keeping the old ACL file: {}", acl.message());
  return passwords.is_ok() ? acl : passwords;
}

std::unique_ptr<broker::Authenticator> FileAuth::make_authenticator() {
  if (options_.password_file.empty() && allow_anonymous_) return nullptr;
  return std::make_unique<FileAuthenticator>(shared_from_this());
}

std::unique_ptr<broker::Authorizer> FileAuth::make_authorizer() {
  if (options_.acl_file.empty()) return nullptr;
  return std::make_unique<AclAuthorizer>(shared_from_this());
}

std::unique_ptr<broker::AuthPlugin> FileAuth::make_scram_plugin() {
  if (options_.password_file.empty()) return nullptr;
  return make_scram_auth([auth = shared_from_this()](std::string_view user) {
    const ScramKeys* keys = auth->passwords_ ? auth->passwords_->find_scram(user) : nullptr;
    return keys ? std::optional<ScramKeys>(*keys) : std::nullopt;
  });
}

std::string FileAuth::password_mac(std::string_view password) const {
  std::string mac(32, '\0');
  size_t len = 0;
  if (EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, mac_key_.data(), mac_key_.size(),
                reinterpret_cast<const unsigned char*>(password.data()), password.size(),
                reinterpret_cast<unsigned char*>(mac.data()), mac.size(), &len) == nullptr ||
      len != mac.size()) {
    return {};
  }
  return mac;
}

void FileAuth::remember(const std::string& user, const std::string& encoded, std::string mac) {
  if (mac.empty()) return;
  if (verified_.size() >= kMaxVerified) verified_.clear();
  verified_[user] = Verified{encoded, std::move(mac)};
}

void FileAuth::check(const ClientIdentity& client, std::optional<std::string_view> password,
                     broker::Authenticator::Verdict done) {
  if (!client.has_username) {
    done(allow_anonymous_ ? Status::ok()
                          : Status::permission_denied("anonymous clients are not allowed"));
    return;
  }
  if (!passwords_) {
    done(Status::ok());  // no password file: a user name alone is not checked
    return;
  }
  if (!password) {
    done(Status::unauthenticated("no password given"));
    return;
  }
  const PasswordHash* stored = passwords_->find(client.username);
  std::string mac = password_mac(*password);
  if (stored != nullptr && !mac.empty()) {
    auto it = verified_.find(std::string(client.username));
    if (it != verified_.end() && it->second.encoded == stored->encoded &&
        CRYPTO_memcmp(it->second.mac.data(), mac.data(), mac.size()) == 0) {
      done(Status::ok());
      return;
    }
  }
  auto work = std::make_unique<VerifyWork>();
  work->stored = stored != nullptr ? *stored : decoy_;
  work->known_user = stored != nullptr;
  work->user = std::string(client.username);
  work->password = std::string(*password);
  work->auth = weak_from_this();
  work->mac = std::move(mac);
  work->done = std::move(done);
  work->req.data = work.get();
  int rc = uv_queue_work(
      loop_, &work->req,
      [](uv_work_t* req) {
        auto* w = static_cast<VerifyWork*>(req->data);
        w->verified = verify_password(w->stored, w->password) && w->known_user;
      },
      [](uv_work_t* req, int) {
        std::unique_ptr<VerifyWork> w(static_cast<VerifyWork*>(req->data));
        OPENSSL_cleanse(w->password.data(), w->password.size());
        if (!w->verified) {
          w->done(Status::unauthenticated("unknown user or wrong password"));
          return;
        }
        if (auto auth = w->auth.lock()) auth->remember(w->user, w->stored.encoded, w->mac);
        w->done(Status::ok());
      });
  if (rc != 0) {
    work->done(
        Status::unavailable(std::string("cannot queue the password check: ") + uv_strerror(rc)));
    return;
  }
  work.release();  // the after-work callback owns it now
}

}  // namespace topicdb::plugins
