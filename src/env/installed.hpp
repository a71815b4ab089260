#pragma once
// Distributions installed in an environment: every `.dist-info` (and legacy `.egg-info`) in the
// site dirs of a target interpreter, read the way importlib.metadata finds them.

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "env/probe.hpp"
#include "util/error.hpp"

namespace strata::env {

/// Headers of a METADATA / PKG-INFO file, in file order (RFC 822 rules: continuation lines are
/// unfolded, the headers end at the first blank or non-header line).
class MetadataHeaders {
 public:
  /// Parses the header block of `text`; never fails (junk ends the header block).
  static MetadataHeaders parse(std::string_view text);

  /// First value of a header (name compared case-insensitively), or nullptr.
  const std::string* get(std::string_view name) const;
  /// Every value of a header, in file order.
  std::vector<std::string> get_all(std::string_view name) const;
  const std::vector<std::pair<std::string, std::string>>& fields() const { return fields_; }

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

/// One row of a RECORD file.
struct RecordEntry {
  std::string path;  ///< relative to the site dir, '/'-separated, as written
  std::string hash;  ///< "sha256=<urlsafe-b64>" as written, empty when absent
  std::string size;  ///< decimal text as written, empty when absent
};

/// Parses RECORD text with Python's csv rules (quotes, doubled quotes, quoted commas and
/// newlines). Errors (kind runtime) name `source` and the line.
Result<std::vector<RecordEntry>> parse_record(std::string_view text, std::string_view source);

/// Converts setuptools' requires.txt (sections `[extra:marker]`) into Requires-Dist strings,
/// the way importlib.metadata does for egg-info distributions.
std::vector<std::string> requires_from_egg_info(std::string_view requires_txt);

/// How a distribution's metadata is stored.
enum class MetadataFormat {
  dist_info,  ///< `.dist-info` directory (the current standard; strata may replace it)
  egg_info,   ///< legacy `.egg-info` directory or file: read-only for strata
};

/// One installed distribution.
struct InstalledDistribution {
  std::string name;                ///< PEP 503 normalized
  std::string display_name;        ///< METADATA `Name` as written
  std::string version;             ///< METADATA `Version` as written
  std::string installer;           ///< first line of INSTALLER, trimmed; empty when absent
  std::filesystem::path path;      ///< the `.dist-info` / `.egg-info` directory (or file)
  std::filesystem::path site_dir;  ///< the site dir holding it, as given to the scan
  std::size_t site_index = 0;      ///< position of site_dir in the scanned list (sys.path order)
  MetadataFormat format = MetadataFormat::dist_info;
  bool has_direct_url = false;  ///< a top-level `direct_url.json` exists in the dist-info
  /// Requires-Dist values as written (unparsed: see parse_requires_dist). For egg-info without
  /// Requires-Dist headers, converted from requires.txt.
  std::vector<std::string> requires_dist;

  /// True for legacy egg-info metadata, which strata reports but never modifies.
  bool read_only() const { return format == MetadataFormat::egg_info; }
};

/// Everything visible to one interpreter.
struct InstalledSet {
  /// Visible distributions, one per normalized name: the first in sys.path order wins (as
  /// importlib.metadata does); within one site dir, ordered by directory name.
  std::vector<InstalledDistribution> distributions;
  /// Later distributions with an already-seen normalized name, hidden by the visible one.
  std::vector<InstalledDistribution> shadowed;
  /// Metadata that could not be read (each message names the file); those entries are skipped.
  std::vector<std::string> problems;

  /// Adds a distribution found later in sys.path order than every one added before: visible
  /// when its normalized name is new, otherwise shadowed.
  void add(InstalledDistribution distribution);
  /// The visible distribution named `name` (normalized or not), or nullptr.
  const InstalledDistribution* find(std::string_view name) const;
};

/// Scans `site_dirs` (in sys.path order). Missing directories are skipped; the same directory
/// reached twice (e.g. lib64 -> lib) is scanned once. Fails (kind runtime, naming the directory)
/// only when an existing directory cannot be listed.
Result<InstalledSet> scan_installed(const std::vector<std::filesystem::path>& site_dirs);

/// Scans the site dirs of a probed interpreter.
Result<InstalledSet> scan_installed(const Interpreter& interpreter);

/// Reads and parses the RECORD of a dist-info distribution; an egg-info distribution has none
/// (error naming it). Errors name the RECORD file.
Result<std::vector<RecordEntry>> read_record(const InstalledDistribution& distribution);

}  // namespace strata::env
