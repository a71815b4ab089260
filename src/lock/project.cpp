#include "lock/project.hpp"

#include "lock/toml_read.hpp"
#include "pep/name.hpp"

namespace strata::lock {

Result<std::string> read_project_name(std::string_view pyproject_text, std::string_view source_name) {
  auto parsed = detail::parse_toml(pyproject_text, source_name);
  if (!parsed) return std::unexpected(parsed.error());
  return detail::catch_errors([&]() -> std::string {
    detail::TomlFields f{std::string(source_name)};
    const toml::table& doc = *parsed;
    if (const toml::table* project = f.opt_table(doc, "project"))
      if (auto name = f.opt_string(*project, "name")) return pep::normalize_name(*name);
    const toml::table* tool = f.opt_table(doc, "tool");
    if (const toml::table* poetry = tool ? f.opt_table(*tool, "poetry") : nullptr)
      if (auto name = f.opt_string(*poetry, "name")) return pep::normalize_name(*name);
    return {};
  });
}

}  // namespace strata::lock
