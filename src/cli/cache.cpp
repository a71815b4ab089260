// `strata cache dir` and `strata cache clean`.

#include <fmt/format.h>

#include "cli/fetch_commands.hpp"
#include "env/cache_dir.hpp"
#include "fetch/cache.hpp"

namespace strata::cli {

CLI::App* add_cache_command(CLI::App& app, CacheOptions& options) {
  auto* cmd = app.add_subcommand("cache", "Show or clean strata's cache");
  cmd->require_subcommand(1);
  cmd->add_option("--cache-dir", options.cache_dir,
                  "Cache directory (default: STRATA_CACHE_DIR, XDG_CACHE_HOME/strata)");
  auto* dir = cmd->add_subcommand("dir", "Print the cache directory");
  auto* clean = cmd->add_subcommand("clean", "Remove everything strata keeps in the cache directory");
  dir->callback([&options] { options.action = "dir"; });
  clean->callback([&options] { options.action = "clean"; });
  return cmd;
}

int run_cache(const CacheOptions& options, const Console& console) {
  const std::filesystem::path root = value_or_throw(env::cache_root(options.cache_dir));
  if (options.action == "dir") {
    if (console.json())
      console.emit({{"ok", true}, {"cache_dir", root.string()}});
    else
      fmt::print("{}\n", root.string());
    return 0;
  }
  const fetch::ArtifactCache cache(root);
  const auto stats = value_or_throw(cache.clean());
  console.emit({{"ok", true},
                {"cache_dir", root.string()},
                {"removed_files", stats.files},
                {"removed_bytes", stats.bytes}});
  console.info(fmt::format("Removed {} files ({:.1f} MiB) from {}", stats.files,
                           static_cast<double>(stats.bytes) / (1024.0 * 1024.0), root.string()));
  return 0;
}

}  // namespace strata::cli
