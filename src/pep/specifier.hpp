#pragma once
// PEP 440 version specifiers with every operator and packaging's pre-release rules.

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
  /// Whether this clause admits pre-releases by itself (packaging's Specifier.prereleases).
  bool prereleases() const;
  /// packaging's Specifier.contains(version, prereleases).
  bool contains(const Version& version, std::optional<bool> prereleases = std::nullopt) const;
  /// Textual form for "===" (which compares strings), as packaging does.
  bool contains_text(std::string_view version_text, std::optional<bool> prereleases = std::nullopt) const;
  std::string str() const;

 private:
  std::string op_;
  std::string version_;
  std::optional<Version> parsed_;  // absent only for "===" with a non-PEP-440 right side
};

/// A comma-separated set of clauses; empty admits every final release.
class SpecifierSet {
 public:
  static Result<SpecifierSet> parse(std::string_view text);

  const std::vector<Specifier>& specifiers() const { return specs_; }
  bool empty() const { return specs_.empty(); }
  /// packaging's SpecifierSet.contains(version, prereleases).
  bool contains(const Version& version, std::optional<bool> prereleases = std::nullopt) const;
  /// Clauses sorted and joined by "," as str(packaging.specifiers.SpecifierSet(...)).
  std::string str() const;

 private:
  std::vector<Specifier> specs_;
};

}  // namespace strata::pep
