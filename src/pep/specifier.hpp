#pragma once
// PEP 440 version specifiers with every operator and packaging's pre-release rules.
//
// Matching follows packaging 26.3, whose rules differ from packaging <= 25: `contains` with
// prereleases unset ADMITS a pre-release that is inside the range (a single version has no
// alternatives, so PEP 440's "accept pre-releases if nothing else satisfies" applies); only an
// explicit `false` (argument, or the set's own flag when the argument is unset) rejects them.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pep/version.hpp"
#include "util/error.hpp"

namespace strata::pep {

/// One clause such as ">=1.2", "~=2.2.0", "==1.*", "===foo".
class Specifier {
 public:
  /// Parses one clause; the error (kind usage) quotes it.
  static Result<Specifier> parse(std::string_view text);

  const std::string& op() const { return op_; }
  /// The version part as written (trimmed), e.g. "1.*".
  const std::string& version_text() const { return version_; }
  /// Whether this clause admits pre-releases by itself (packaging's Specifier.prereleases; its
  /// None, for "===" with a non-PEP-440 right side, is false here).
  bool prereleases() const;
  /// packaging's Specifier.contains(version, prereleases) for a Version object ("===" compares
  /// the normalized str()).
  bool contains(const Version& version, std::optional<bool> prereleases = std::nullopt) const;
  /// packaging's Specifier.contains(text, prereleases) for a string: "===" compares the raw
  /// text case-insensitively (str.lower(), one-to-one case mappings); other operators parse it
  /// and never match an invalid version.
  bool contains_text(std::string_view version_text, std::optional<bool> prereleases = std::nullopt) const;
  /// The clause as written without surrounding whitespace, e.g. ">=1.0".
  std::string str() const;
  /// packaging's Specifier._canonical_spec rendered as op + version: two clauses are equal
  /// (and deduplicated in a set) when these agree, e.g. "==1.0" and "==1.0.0".
  std::string canonical() const;

 private:
  friend class SpecifierSet;
  std::string op_;
  std::string version_;
  std::optional<Version> parsed_;  // absent only for "===" with a non-PEP-440 right side
};

/// A comma-separated set of clauses; empty admits every version (pre-releases too unless
/// prereleases is false).
class SpecifierSet {
 public:
  /// Parses "" or "clause, clause, ..."; `prereleases` is packaging's SpecifierSet(...,
  /// prereleases=) flag. The error (kind usage) quotes the bad clause and the whole text.
  static Result<SpecifierSet> parse(std::string_view text, std::optional<bool> prereleases = std::nullopt);

  const std::vector<Specifier>& specifiers() const { return specs_; }
  bool empty() const { return specs_.empty(); }
  /// packaging's SpecifierSet.prereleases: the flag if given, else true if any clause admits
  /// pre-releases, else unset.
  std::optional<bool> prereleases() const;
  /// packaging's SpecifierSet.contains(version, prereleases) for a Version object.
  bool contains(const Version& version, std::optional<bool> prereleases = std::nullopt) const;
  /// packaging's SpecifierSet.contains(text, prereleases) for a string (matters for "===" and
  /// for strings that are not versions).
  bool contains_text(std::string_view version_text, std::optional<bool> prereleases = std::nullopt) const;
  /// Clauses sorted and joined by "," as str(packaging.specifiers.SpecifierSet(...)).
  std::string str() const;

 private:
  bool has_arbitrary() const;
  bool contains_item(const Version* version, std::string_view raw, bool item_is_version,
                     std::optional<bool> prereleases) const;

  std::vector<Specifier> specs_;
  std::optional<bool> prereleases_;
};

}  // namespace strata::pep
