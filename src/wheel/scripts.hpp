#pragma once
// Scripts of a wheel: `#!python` rewriting and entry-point launchers, as pip (distlib) writes them.

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.hpp"

namespace strata::wheel {

/// One console_scripts or gui_scripts entry point.
struct EntryPoint {
  std::string name;    ///< the script file name
  std::string module;  ///< dotted module path
  std::string attr;    ///< dotted attribute path inside the module (may be empty)
  bool gui = false;
};

/// Parses entry_points.txt and returns its console and gui scripts. Names with '/' or unsafe
/// module/attribute text are refused (the launcher embeds them in Python source).
Result<std::vector<EntryPoint>> parse_entry_points(std::string_view content, std::string_view source);

/// The shebang line(s), with the final newline, that run `python`: "#!<python>\n", or the
/// `/bin/sh` trampoline when the line would exceed 127 bytes or the path has spaces.
std::string shebang_for(const std::filesystem::path& python);

/// The launcher script for an entry point (pip's template, with shebang_for(python)).
std::string launcher_script(const EntryPoint& entry, const std::filesystem::path& python);

/// If `script` starts with "#!python" (which also covers "#!pythonw"), returns it with the first
/// line replaced by shebang_for(python); otherwise nullopt.
std::optional<std::string> rewrite_python_shebang(std::string_view script,
                                                  const std::filesystem::path& python);

}  // namespace strata::wheel
