// The password file, the ACL file and SCRAM-SHA-256 (plugins/file_auth.h) as a built-in
// plugin behind the C ABI of topicdb_plugin.h: compiled in, not dlopened, and asked by the
// broker through the same PluginChain as any --plugin library.
#pragma once

#include <memory>

#include "base/status.h"
#include "plugins/file_auth.h"
#include "plugins/loaded_plugin.h"

namespace topicdb::plugins {

inline constexpr char kFileAuthPluginName[] = "file-auth";

// Offers basic_auth when the files call for an Authenticator, authorize when there is an
// ACL file, and SCRAM-SHA-256 when there is a password file (what FileAuth's make_*
// return). Shares `auth`, so FileAuth::reload() (SIGHUP) applies at once.
Result<std::unique_ptr<LoadedPlugin>> make_file_auth_plugin(std::shared_ptr<FileAuth> auth);

}  // namespace topicdb::plugins
