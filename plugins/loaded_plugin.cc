#include "plugins/loaded_plugin.h"

#include <dlfcn.h>

#include <algorithm>
#include <cstring>

#include "base/log.h"

namespace topicdb::plugins {

namespace {

// The smallest descriptor we accept: everything up to and including `name` and `destroy`.
constexpr size_t kMinPluginSize = offsetof(topicdb_plugin, destroy) + sizeof(void*);

}  // namespace

Result<std::unique_ptr<LoadedPlugin>> LoadedPlugin::load(const std::string& path,
                                                         PluginOptions options) {
  std::unique_ptr<LoadedPlugin> plugin(new LoadedPlugin());
  plugin->name_ = path;
  // RTLD_LOCAL: two plugins may use the same symbol names; RTLD_NOW: a missing symbol fails
  // here at start-up, not in the middle of a hook.
  plugin->library_ = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (plugin->library_ == nullptr) {
    const char* why = dlerror();
    return Status::invalid_argument("cannot load plugin " + path + ": " +
                                    (why != nullptr ? why : "dlopen failed"));
  }
  dlerror();
  void* symbol = dlsym(plugin->library_, TOPICDB_PLUGIN_INIT_SYMBOL);
  if (symbol == nullptr) {
    return Status::invalid_argument("cannot load plugin " + path + ": it does not export " +
                                    TOPICDB_PLUGIN_INIT_SYMBOL);
  }
  topicdb_plugin_init_fn init;
  std::memcpy(&init, &symbol, sizeof(init));  // object pointer to function pointer (POSIX)
  TDB_RETURN_IF_ERROR(plugin->init(init, "plugin " + path, std::move(options)));
  return plugin;
}

Result<std::unique_ptr<LoadedPlugin>> LoadedPlugin::from_init(topicdb_plugin_init_fn init,
                                                              const std::string& name,
                                                              PluginOptions options) {
  std::unique_ptr<LoadedPlugin> plugin(new LoadedPlugin());
  plugin->name_ = name;
  TDB_RETURN_IF_ERROR(plugin->init(init, "built-in plugin " + name, std::move(options)));
  return plugin;
}

Status LoadedPlugin::init(topicdb_plugin_init_fn init, const std::string& where,
                          PluginOptions options) {
  options_ = std::move(options);
  for (const auto& [key, value] : options_) option_table_.push_back({key.c_str(), value.c_str()});
  host_.abi_version = TOPICDB_PLUGIN_ABI_VERSION;
  host_.struct_size = sizeof(topicdb_host);
  host_.host_ctx = this;
  host_.options = option_table_.data();
  host_.option_count = option_table_.size();
  host_.log = &LoadedPlugin::host_log;

  const topicdb_plugin* descriptor = nullptr;
  const char* error = nullptr;
  int rc = init(&host_, &descriptor, &ctx_, &error);
  if (rc != 0) {
    return Status::invalid_argument("cannot load " + where + ": its init failed (" +
                                    std::to_string(rc) + ")" +
                                    (error != nullptr ? std::string(": ") + error : ""));
  }
  initialized_ = true;
  return adopt(descriptor, where);
}

Result<std::unique_ptr<LoadedPlugin>> LoadedPlugin::from_descriptor(
    const topicdb_plugin* descriptor, void* ctx, const std::string& name) {
  std::unique_ptr<LoadedPlugin> plugin(new LoadedPlugin());
  plugin->name_ = name;
  plugin->ctx_ = ctx;
  plugin->initialized_ = true;
  TDB_RETURN_IF_ERROR(plugin->adopt(descriptor, "built-in plugin " + name));
  return plugin;
}

Status LoadedPlugin::adopt(const topicdb_plugin* descriptor, const std::string& where) {
  if (descriptor == nullptr) {
    return Status::invalid_argument("cannot load " + where + ": its init returned no descriptor");
  }
  // Read abi_version first: a plugin of another ABI may lay out the rest differently.
  if (descriptor->abi_version != TOPICDB_PLUGIN_ABI_VERSION) {
    return Status::invalid_argument(
        "cannot load " + where + ": it was built for plugin ABI version " +
        std::to_string(descriptor->abi_version) + ", this broker speaks version " +
        std::to_string(TOPICDB_PLUGIN_ABI_VERSION));
  }
  if (descriptor->struct_size < kMinPluginSize) {
    return Status::invalid_argument("cannot load " + where + ": its descriptor is too small (" +
                                    std::to_string(descriptor->struct_size) + " bytes)");
  }
  // Hooks appended after the plugin was built stay NULL.
  std::memcpy(&hooks_, descriptor, std::min<size_t>(descriptor->struct_size, sizeof(hooks_)));
  if (hooks_.name != nullptr && hooks_.name[0] != '\0') name_ = hooks_.name;
  if (hooks_.auth_method != nullptr &&
      (hooks_.auth_start == nullptr || hooks_.auth_step == nullptr)) {
    return Status::invalid_argument("cannot load " + where +
                                    ": it names an auth method without auth_start and auth_step");
  }
  return Status::ok();
}

LoadedPlugin::~LoadedPlugin() {
  if (initialized_ && hooks_.destroy != nullptr) hooks_.destroy(ctx_);
  if (library_ != nullptr) dlclose(library_);
}

std::string LoadedPlugin::auth_method() const {
  return hooks_.auth_method != nullptr ? std::string(hooks_.auth_method) : std::string();
}

void LoadedPlugin::host_log(void* host_ctx, int level, const char* message) {
  const auto* self = static_cast<const LoadedPlugin*>(host_ctx);
  const char* text = message != nullptr ? message : "(null)";
  switch (level) {
    case TOPICDB_LOG_DEBUG:
      log::debug("plugin {}: {}", self->name_, text);
      break;
    case TOPICDB_LOG_WARN:
      log::warn("plugin {}: {}", self->name_, text);
      break;
    case TOPICDB_LOG_ERROR:
      log::error("plugin {}: {}", self->name_, text);
      break;
    default:
      log::info("plugin {}: {}", self->name_, text);
  }
}

}  // namespace topicdb::plugins
