#include "oci/image.hpp"

#include <ctime>

#include <fmt/format.h>

namespace strata::oci {

std::string rfc3339(std::int64_t seconds) {
  std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec);
}

nlohmann::json derive_config(const nlohmann::json& base_config, const std::vector<AddedLayer>& layers,
                             std::string_view env, std::int64_t created) {
  nlohmann::json config = base_config.is_object() ? base_config : nlohmann::json::object();
  const std::string when = rfc3339(created);
  config["created"] = when;
  nlohmann::json& c = config["config"];
  if (!c.is_object()) c = nlohmann::json::object();
  std::string path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  nlohmann::json out_env = nlohmann::json::array();
  if (c.contains("Env") && c["Env"].is_array())
    for (const auto& e : c["Env"]) {
      if (!e.is_string()) continue;
      std::string s = e.get<std::string>();
      if (s.starts_with("PATH=")) {
        path = s.substr(5);
        continue;
      }
      if (s.starts_with("VIRTUAL_ENV=")) continue;
      out_env.push_back(s);
    }
  const std::string bin = fmt::format("{}/bin", env);
  std::string new_path = bin;
  if (!path.empty() && path != bin && !path.starts_with(bin + ":")) new_path += ":" + path;
  if (path.starts_with(bin + ":")) new_path = path;
  out_env.insert(out_env.begin(), fmt::format("PATH={}", new_path));
  out_env.push_back(fmt::format("VIRTUAL_ENV={}", env));
  c["Env"] = out_env;
  nlohmann::json& rootfs = config["rootfs"];
  if (!rootfs.is_object()) rootfs = nlohmann::json::object();
  rootfs["type"] = "layers";
  if (!rootfs.contains("diff_ids") || !rootfs["diff_ids"].is_array())
    rootfs["diff_ids"] = nlohmann::json::array();
  nlohmann::json& history = config["history"];
  if (!history.is_array()) history = nlohmann::json::array();
  for (const auto& l : layers) {
    rootfs["diff_ids"].push_back(l.diff_id);
    history.push_back({{"created", when}, {"created_by", l.created_by}});
  }
  return config;
}

nlohmann::json image_manifest(const Descriptor& config, const std::vector<Descriptor>& layers) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& l : layers) {
    Descriptor d = l;
    d.media_type = oci_layer_type(l.media_type);
    d.platform.reset();
    list.push_back(to_json(d));
  }
  Descriptor c = config;
  c.platform.reset();
  c.media_type = std::string(kOciConfig);
  return {{"schemaVersion", 2}, {"mediaType", kOciManifest}, {"config", to_json(c)}, {"layers", list}};
}

}  // namespace strata::oci
