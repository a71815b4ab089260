#pragma once
// PEP 440 versions: the full grammar with normalization and the total order that `packaging`
// (the version pinned in scripts/setup-testenv.sh) implements.

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "util/error.hpp"

namespace strata::pep {

/// A pre-release segment: kind is "a", "b" or "rc" after normalization.
struct PreRelease {
  std::string kind;
  std::uint64_t number = 0;
  auto operator<=>(const PreRelease&) const = default;
};

/// One dot-separated segment of a local version label: numbers compare as numbers and sort
/// after strings, as PEP 440 says.
using LocalSegment = std::variant<std::uint64_t, std::string>;

/// A parsed PEP 440 version.
class Version {
 public:
  /// Parses `text` (surrounding whitespace allowed, any case, all PEP 440 spellings). The error
  /// (kind usage) quotes the text.
  static Result<Version> parse(std::string_view text);
  /// Builds a version from its parts (packaging's Version.from_parts); `release` must not be
  /// empty and `local` holds already-normalized segments.
  static Version from_parts(std::uint64_t epoch, std::vector<std::uint64_t> release,
                            std::optional<PreRelease> pre = std::nullopt,
                            std::optional<std::uint64_t> post = std::nullopt,
                            std::optional<std::uint64_t> dev = std::nullopt,
                            std::vector<LocalSegment> local = {});

  std::uint64_t epoch() const { return epoch_; }
  const std::vector<std::uint64_t>& release() const { return release_; }
  const std::optional<PreRelease>& pre() const { return pre_; }
  const std::optional<std::uint64_t>& post() const { return post_; }
  const std::optional<std::uint64_t>& dev() const { return dev_; }
  const std::vector<LocalSegment>& local() const { return local_; }

  bool is_prerelease() const { return pre_.has_value() || dev_.has_value(); }
  bool is_postrelease() const { return post_.has_value(); }
  bool is_devrelease() const { return dev_.has_value(); }

  /// The normalized string, as str(packaging.version.Version(text)).
  std::string str() const;
  /// The version without its local label ("public").
  Version public_version() const;
  /// Epoch and release only ("base_version").
  Version base_version() const;
  /// The local label as written after normalization, empty if none.
  std::string local_str() const;
  /// str() with trailing zeros of the release removed, keeping at least one segment
  /// (packaging's canonicalize_version(v), e.g. "1.0.0" -> "1").
  std::string canonical_str() const;

  friend std::strong_ordering operator<=>(const Version& a, const Version& b);
  friend bool operator==(const Version& a, const Version& b) { return (a <=> b) == 0; }

 private:
  std::uint64_t epoch_ = 0;
  std::vector<std::uint64_t> release_;
  std::optional<PreRelease> pre_;
  std::optional<std::uint64_t> post_;
  std::optional<std::uint64_t> dev_;
  std::vector<LocalSegment> local_;
};

}  // namespace strata::pep
