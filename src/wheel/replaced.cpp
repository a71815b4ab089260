#include "wheel/replaced.hpp"

namespace strata::wheel {
namespace fs = std::filesystem;

bool is_within(const fs::path& path, const fs::path& root) {
  auto rel = path.lexically_relative(root);
  return !rel.empty() && *rel.begin() != "..";
}

std::vector<fs::path> replaced_files(const fs::path& old_dist_info, const std::vector<RecordRow>& rows,
                                     const std::set<fs::path>& new_destinations,
                                     const std::vector<fs::path>& roots) {
  std::vector<fs::path> out;
  for (const auto& row : rows) {
    fs::path p = (old_dist_info.parent_path() / row.path).lexically_normal();
    if (is_within(p, old_dist_info) || new_destinations.contains(p)) continue;
    bool inside = false;
    for (const auto& root : roots) inside = inside || is_within(p, root);
    if (inside) out.push_back(p);
  }
  return out;
}

bool is_bytecode_of(std::string_view pyc_name, const fs::path& py) {
  const std::string prefix = py.stem().string() + ".";
  return pyc_name.starts_with(prefix) && pyc_name.ends_with(".pyc");
}

}  // namespace strata::wheel
