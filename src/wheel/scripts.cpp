#include "wheel/scripts.hpp"

#include <fmt/format.h>

#include "util/strings.hpp"

namespace strata::wheel {
namespace {

bool is_dotted_identifier(std::string_view s) {
  if (s.empty()) return false;
  for (auto part : util::split(s, '.')) {
    if (part.empty()) return false;
    if (part.front() >= '0' && part.front() <= '9') return false;
    for (char c : part) {
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                static_cast<unsigned char>(c) >= 0x80;
      if (!ok) return false;
    }
  }
  return true;
}

}  // namespace

Result<std::vector<EntryPoint>> parse_entry_points(std::string_view content, std::string_view source) {
  std::vector<EntryPoint> out;
  std::string section;
  std::size_t line_no = 0;
  for (auto raw_line : util::split(content, '\n')) {
    ++line_no;
    auto line = util::trim(raw_line);
    if (line.empty() || line.front() == '#' || line.front() == ';') continue;
    if (line.front() == '[') {
      if (line.back() != ']')
        return fail(ErrorKind::runtime, fmt::format("{}:{}: malformed section header", source, line_no));
      section = std::string(util::trim(line.substr(1, line.size() - 2)));
      continue;
    }
    if (section != "console_scripts" && section != "gui_scripts") continue;
    auto eq = line.find('=');
    if (eq == std::string_view::npos)
      return fail(ErrorKind::runtime, fmt::format("{}:{}: expected \"name = module:attr\"", source, line_no));
    EntryPoint ep;
    ep.gui = section == "gui_scripts";
    ep.name = std::string(util::trim(line.substr(0, eq)));
    auto value = util::trim(line.substr(eq + 1));
    if (auto bracket = value.find('['); bracket != std::string_view::npos)
      value = util::trim(value.substr(0, bracket));
    auto colon = value.find(':');
    ep.module = std::string(util::trim(value.substr(0, colon)));
    if (colon != std::string_view::npos) ep.attr = std::string(util::trim(value.substr(colon + 1)));
    if (ep.name.empty() || ep.name.find('/') != std::string::npos ||
        ep.name.find('\\') != std::string::npos || ep.name == "." || ep.name == ".." ||
        ep.name.find('\0') != std::string::npos)
      return fail(ErrorKind::runtime,
                  fmt::format("{}:{}: refusing entry point script name \"{}\"", source, line_no, ep.name));
    if (!is_dotted_identifier(ep.module) || (!ep.attr.empty() && !is_dotted_identifier(ep.attr)))
      return fail(ErrorKind::runtime,
                  fmt::format("{}:{}: refusing entry point \"{}\": invalid object reference", source, line_no,
                              ep.name));
    out.push_back(std::move(ep));
  }
  return out;
}

std::string shebang_for(const std::filesystem::path& python) {
  const std::string exe = python.string();
  // distlib (what pip uses) switches to the sh trampoline when "#!" + path + newline exceeds 127
  // bytes (the kernel's limit) and for paths with spaces, which a shebang cannot quote.
  if (exe.size() + 3 > 127 || exe.find(' ') != std::string::npos) {
    std::string quoted = exe.find(' ') != std::string::npos ? "\"" + exe + "\"" : exe;
    return "#!/bin/sh\n'''exec' " + quoted + " \"$0\" \"$@\"\n' '''\n";
  }
  return "#!" + exe + "\n";
}

std::string launcher_script(const EntryPoint& entry, const std::filesystem::path& python) {
  std::string import_name = entry.attr.empty() ? entry.module : entry.attr.substr(0, entry.attr.find('.'));
  std::string call = entry.attr.empty() ? entry.module : entry.attr;
  std::string body;
  if (entry.attr.empty()) {
    body = fmt::format("import {}\n", entry.module);
  } else {
    body = fmt::format("from {} import {}\n", entry.module, import_name);
  }
  return shebang_for(python) +
         "# -*- coding: utf-8 -*-\n"
         "import re\n"
         "import sys\n" +
         body +
         "if __name__ == '__main__':\n"
         "    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])\n" +
         fmt::format("    sys.exit({}())\n", call);
}

std::optional<std::string> rewrite_python_shebang(std::string_view script,
                                                  const std::filesystem::path& python) {
  if (!script.starts_with("#!python")) return std::nullopt;
  auto eol = script.find('\n');
  std::string_view rest = eol == std::string_view::npos ? std::string_view{} : script.substr(eol + 1);
  return shebang_for(python) + std::string(rest);
}

}  // namespace strata::wheel
