#pragma once
// The base image of `strata image`: opened from an image layout (`oci:DIR[:TAG]`), an archive of
// one (`oci-archive:FILE[:TAG]`) or a layout a registry pull wrote; its manifest, config and
// layers checked (media types, digests); and the files the target is read from, found by walking
// its layers in order with whiteouts applied, never by running anything.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "oci/layout.hpp"
#include "util/error.hpp"

namespace strata::oci {

/// How BASE names its image.
struct BaseSpec {
  enum class Kind { layout, archive, registry };
  Kind kind = Kind::layout;
  std::string location;  ///< the directory, the archive, or the registry reference
  std::string tag;       ///< layout/archive: the ref.name to pick ("" = the only image)
};
/// Parses `oci:DIR[:TAG]`, `oci-archive:FILE[:TAG]`, or anything else as a registry reference.
Result<BaseSpec> parse_base_spec(std::string_view text);

/// A base image, every document verified against its digest.
struct BaseImage {
  std::string name;  ///< BASE as given, for messages
  std::filesystem::path layout_dir;
  Descriptor manifest;  ///< the image manifest (an index already resolved to the platform's)
  nlohmann::json config;
  Descriptor config_descriptor;
  std::vector<Descriptor> layers;     ///< media types as in the base (read: any is_layer_type)
  std::vector<std::string> diff_ids;  ///< the config's rootfs.diff_ids
};

/// Where a pull put a registry base: the image layout holding its blobs and the image manifest.
struct PulledBase {
  std::filesystem::path layout;
  Descriptor manifest;
};
/// Pulls a registry reference into an image layout (`dir`, or a shared blob store of the
/// caller's); an index is resolved to the platform (src/oci/registry.hpp's pull, given by the
/// caller so that this file needs no network).
using Puller =
    std::function<Result<PulledBase>(std::string_view reference, const std::filesystem::path& dir)>;

/// Opens BASE. An archive is unpacked and a reference pulled into `scratch`. An index picks the
/// manifest for `platform`. Errors name BASE and what is wrong: a missing tag, an unknown media
/// type, a blob whose digest does not match, a config without rootfs.diff_ids matching the layers.
Result<BaseImage> open_base(const BaseSpec& spec, std::string_view name, const std::filesystem::path& scratch,
                            const Platform& platform, const Puller& pull);

/// A file of the base's final filesystem (the layers applied in order, whiteouts honoured).
struct BaseNode {
  enum class Type { file, directory, symlink, other };
  Type type = Type::other;
  std::string link;  ///< symlinks: the target as stored
  std::uint64_t size = 0;
  bool executable = false;
  std::optional<std::string> content;  ///< files a caller asked for (`wanted`)
};

/// The base's filesystem as far as the target needs it: every path (no leading "/"), with the
/// content of the wanted ones.
struct BaseFiles {
  std::map<std::string, BaseNode> nodes;
  /// Follows symlinks (also of parent directories) within the base; nullopt for a dangling or
  /// looping path. Returns the resolved path without a leading "/".
  std::optional<std::string> resolve(std::string_view path) const;
  /// The node at `path` after resolving symlinks, or nullptr.
  const BaseNode* find(std::string_view path) const;
};

/// Walks every layer of `base` (verifying each blob's digest as it reads it) and keeps the content
/// of files for which `wanted(path)` is true.
Result<BaseFiles> read_base_files(const BaseImage& base, const std::function<bool(std::string_view)>& wanted);

/// What the target is, as read from the base's files.
struct BaseTarget {
  std::string python;  ///< "/usr/local/bin/python3.11" (the interpreter file, as named in the image)
  int major = 3, minor = 0;
  std::string full_version;  ///< "3.11.7" (from the interpreter or libpython; the config's PYTHON_VERSION)
  std::string stdlib;        ///< "/usr/local/lib/python3.11"
  std::string prefix;        ///< "/usr/local" or "/usr"
  std::optional<std::pair<int, int>> glibc, musl;
  std::map<std::string, std::string> sysconfig;  ///< SOABI, EXT_SUFFIX, MULTIARCH, … from _sysconfigdata_*.py
  std::optional<std::string> activate_template;  ///< <stdlib>/venv/scripts/common/activate
};

/// The paths read_base_files must keep for read_target, the .dist-info/.egg-info metadata and .pth
/// files of the interpreter's own site directories, and under `env` the environment's pyvenv.cfg,
/// metadata and strata's ledger (plan/image_base_env.hpp).
bool wanted_for_target(std::string_view path, std::string_view env);

/// Reads the target from the base's files; a base without a Python 3 interpreter in
/// /usr/local/bin or /usr/bin is an error naming BASE.
Result<BaseTarget> read_target(const BaseFiles& files, const BaseImage& base);

/// Parses `'KEY': value` items of a _sysconfigdata_*.py (strings and integers, as strings).
std::map<std::string, std::string> parse_sysconfigdata(std::string_view text);

}  // namespace strata::oci
