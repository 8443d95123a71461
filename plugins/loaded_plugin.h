// LoadedPlugin: one plugin behind the C ABI of topicdb_plugin.h, as the broker holds it: its
// descriptor (checked), its context, its options and the host table it was given. Made from
// a shared library (load: dlopen + dlsym of topicdb_plugin_init) or from an init function
// compiled into the binary (the built-in plugins). Destroying it calls the plugin's
// destroy() and then unloads the library.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "plugins/topicdb_plugin.h"

namespace topicdb::plugins {

using PluginOptions = std::vector<std::pair<std::string, std::string>>;

class LoadedPlugin {
 public:
  // dlopen(path) and its topicdb_plugin_init. Errors are one line naming the path: not
  // found, no entry point, init refused, ABI version or struct size mismatch.
  static Result<std::unique_ptr<LoadedPlugin>> load(const std::string& path, PluginOptions options);
  // A plugin compiled into the binary (its init function), checked like a loaded one;
  // `name` names it in errors.
  static Result<std::unique_ptr<LoadedPlugin>> from_init(topicdb_plugin_init_fn init,
                                                         const std::string& name,
                                                         PluginOptions options);
  // A built-in plugin whose descriptor and context C++ code made directly (it needs C++
  // objects no option string can carry); `descriptor` must live as long as `ctx`, which
  // the descriptor's destroy frees.
  static Result<std::unique_ptr<LoadedPlugin>> from_descriptor(const topicdb_plugin* descriptor,
                                                               void* ctx, const std::string& name);
  ~LoadedPlugin();
  LoadedPlugin(const LoadedPlugin&) = delete;
  LoadedPlugin& operator=(const LoadedPlugin&) = delete;

  const std::string& name() const { return name_; }
  void* ctx() const { return ctx_; }
  // The plugin's descriptor, copied into a full-size struct: hooks past the plugin's
  // struct_size are NULL, so callers test each hook for NULL only.
  const topicdb_plugin& hooks() const { return hooks_; }
  // The plugin's method name, or empty when it offers no enhanced authentication.
  std::string auth_method() const;

 private:
  LoadedPlugin() = default;
  Status init(topicdb_plugin_init_fn init, const std::string& where, PluginOptions options);
  Status adopt(const topicdb_plugin* descriptor, const std::string& where);
  static void host_log(void* host_ctx, int level, const char* message);

  std::string name_;
  void* library_ = nullptr;  // dlopen handle; null for a built-in plugin
  void* ctx_ = nullptr;
  bool initialized_ = false;
  topicdb_plugin hooks_{};
  PluginOptions options_;
  std::vector<topicdb_option> option_table_;  // points into options_
  topicdb_host host_{};
};

}  // namespace topicdb::plugins
