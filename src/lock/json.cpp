#include "lock/json.hpp"

#include "util/url.hpp"

namespace strata::lock {

nlohmann::json to_json(const Artifact& a) {
  nlohmann::json j{{"filename", a.filename},
                   {"kind", a.kind == Artifact::Kind::wheel ? "wheel" : "sdist"},
                   {"hashes", a.hashes}};
  if (!a.url.empty()) j["url"] = util::redact_url(a.url);
  if (!a.path.empty()) j["path"] = a.path;
  if (a.size) j["size"] = *a.size;
  return j;
}

nlohmann::json to_json(const Package& p) {
  nlohmann::json source{{"kind", to_string(p.source.kind)}};
  if (!p.source.name.empty()) source["name"] = p.source.name;
  if (!p.source.url.empty()) source["url"] = util::redact_url(p.source.url);
  if (!p.source.path.empty()) source["path"] = p.source.path;
  nlohmann::json artifacts = nlohmann::json::array();
  for (const auto& a : p.artifacts) artifacts.push_back(to_json(a));
  return {{"name", p.name},   {"display_name", p.display_name}, {"version", p.version_text},
          {"source", source}, {"artifacts", artifacts},         {"installable", is_installable(p)}};
}

nlohmann::json to_json(const Selection& s) {
  nlohmann::json packages = nlohmann::json::array(), excluded = nlohmann::json::array();
  for (const auto& p : s.packages) packages.push_back(to_json(p));
  for (const auto& e : s.excluded)
    excluded.push_back({{"name", e.name}, {"version", e.version}, {"reason", e.reason}});
  return {{"packages", packages}, {"excluded", excluded}, {"groups", s.groups}, {"extras", s.extras}};
}

}  // namespace strata::lock
