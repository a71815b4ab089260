// Differential tests: strata's PEP 440 versions and specifiers against the answers of the pinned
// `packaging`, written by tests/differential/gen_versions.py into $STRATA_DIFF_CASES.

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "differential/cases.hpp"
#include "pep/specifier.hpp"
#include "pep/version.hpp"

namespace strata::pep {
namespace {

using nlohmann::json;
using strata::testing::load_cases;
using strata::testing::Mismatches;

std::optional<bool> flag(const std::string& text) {
  if (text == "true") return true;
  if (text == "false") return false;
  return std::nullopt;
}

std::string flag_text(std::optional<bool> value) { return value ? (*value ? "true" : "false") : "none"; }

std::string show(const std::string& s) { return json(s).dump(); }

TEST(VersionDifferential, ParseAndNormalizeMatchPackaging) {
  auto cases = load_cases("pep440_versions.json");
  ASSERT_TRUE(cases);
  const json& versions = (*cases)["versions"];
  ASSERT_GE(versions.size(), 3000u);
  Mismatches bad("version strings");
  for (const json& c : versions) {
    std::string text = c["text"];
    auto v = Version::parse(text);
    if (!c["valid"].get<bool>()) {
      if (v) bad.add(show(text) + ": packaging rejects it, strata gives " + show(v->str()));
      continue;
    }
    if (!v) {
      bad.add(show(text) + ": packaging gives " + c["str"].dump() + ", strata rejects: " + v.error().message);
      continue;
    }
    std::vector<std::uint64_t> release = c["release"];
    bool same = v->str() == c["str"].get<std::string>() && v->public_version().str() == c["public"] &&
                v->base_version().str() == c["base_version"] && v->local_str() == c["local"] &&
                v->epoch() == c["epoch"].get<std::uint64_t>() && v->release() == release &&
                v->is_prerelease() == c["is_prerelease"].get<bool>() &&
                v->is_postrelease() == c["is_postrelease"].get<bool>() &&
                v->is_devrelease() == c["is_devrelease"].get<bool>();
    if (!same) bad.add(show(text) + ": packaging " + c.dump() + ", strata str " + show(v->str()));
  }
  bad.check(versions.size());
}

TEST(VersionDifferential, OrderingMatchesPackaging) {
  auto cases = load_cases("pep440_versions.json");
  ASSERT_TRUE(cases);
  const json& versions = (*cases)["versions"];
  const json& pairs = (*cases)["pairs"];
  ASSERT_GE(pairs.size(), 5000u);
  Mismatches bad("ordered pairs");
  for (const json& p : pairs) {
    std::string a = versions[p["a"].get<std::size_t>()]["text"];
    std::string b = versions[p["b"].get<std::size_t>()]["text"];
    auto va = Version::parse(a);
    auto vb = Version::parse(b);
    if (!va || !vb) {
      bad.add(show(a) + " vs " + show(b) + ": strata rejects one of them");
      continue;
    }
    auto order = *va <=> *vb;
    int got = order < 0 ? -1 : order > 0 ? 1 : 0;
    int want = p["cmp"];
    if (got != want || ((*va == *vb) != (want == 0))) {
      bad.add(show(a) + " vs " + show(b) + ": packaging " + std::to_string(want) + ", strata " +
              std::to_string(got));
    }
  }
  bad.check(pairs.size());
}

TEST(SpecifierDifferential, ParseAndStrMatchPackaging) {
  auto cases = load_cases("pep440_specifiers.json");
  ASSERT_TRUE(cases);
  const json& specs = (*cases)["specifiers"];
  const json& sets = (*cases)["sets"];
  ASSERT_GE(specs.size() + sets.size(), 1000u);
  Mismatches bad("specifier strings");
  for (const json& c : specs) {
    std::string text = c["text"];
    auto s = Specifier::parse(text);
    if (!c["valid"].get<bool>()) {
      if (s) bad.add("Specifier " + show(text) + ": packaging rejects it, strata accepts");
    } else if (!s) {
      bad.add("Specifier " + show(text) + ": packaging accepts, strata: " + s.error().message);
    } else if (s->str() != c["str"] || s->prereleases() != c["prereleases"].get<bool>()) {
      bad.add("Specifier " + show(text) + ": packaging " + c.dump() + ", strata str " + show(s->str()) +
              " prereleases " + (s->prereleases() ? "true" : "false"));
    }
  }
  for (const json& c : sets) {
    std::string text = c["text"];
    auto s = SpecifierSet::parse(text);
    if (!c["valid"].get<bool>()) {
      if (s) bad.add("SpecifierSet " + show(text) + ": packaging rejects it, strata accepts");
    } else if (!s) {
      bad.add("SpecifierSet " + show(text) + ": packaging accepts, strata: " + s.error().message);
    } else if (s->str() != c["str"]) {
      bad.add("SpecifierSet " + show(text) + ": packaging str " + c["str"].dump() + ", strata " +
              show(s->str()));
    }
  }
  bad.check(specs.size() + sets.size());
}

TEST(SpecifierDifferential, SetContainsMatchesPackaging) {
  auto cases = load_cases("pep440_specifiers.json");
  ASSERT_TRUE(cases);
  const json& contains = (*cases)["contains"];
  ASSERT_GE(contains.size(), 5000u);
  Mismatches bad("SpecifierSet.contains cases");
  for (const json& c : contains) {
    std::string text = c["set"];
    std::string version_text = c["version"];
    auto set_pre = flag(c["set_prereleases"]);
    auto pre = flag(c["prereleases"]);
    bool as_version = c["as_version"];
    auto set = SpecifierSet::parse(text, set_pre);
    if (!set) {
      bad.add(show(text) + ": strata rejects the set: " + set.error().message);
      continue;
    }
    bool got = false;
    if (as_version) {
      auto v = Version::parse(version_text);
      if (!v) {
        bad.add(show(version_text) + ": strata rejects the version");
        continue;
      }
      got = set->contains(*v, pre);
    } else {
      got = set->contains_text(version_text, pre);
    }
    std::string property = flag_text(set->prereleases());
    if (got != c["result"].get<bool>() || property != c["set_prereleases_property"]) {
      bad.add("SpecifierSet(" + show(text) + ", prereleases=" + c["set_prereleases"].get<std::string>() +
              ").contains(" + (as_version ? "Version(" + show(version_text) + ")" : show(version_text)) +
              ", prereleases=" + c["prereleases"].get<std::string>() + "): packaging " + c["result"].dump() +
              ", strata " + (got ? "true" : "false") + "; .prereleases packaging " +
              c["set_prereleases_property"].get<std::string>() + ", strata " + property);
    }
  }
  bad.check(contains.size());
}

TEST(SpecifierDifferential, SpecifierContainsMatchesPackaging) {
  auto cases = load_cases("pep440_specifiers.json");
  ASSERT_TRUE(cases);
  const json& contains = (*cases)["specifier_contains"];
  ASSERT_GE(contains.size(), 1000u);
  Mismatches bad("Specifier.contains cases");
  for (const json& c : contains) {
    std::string text = c["spec"];
    std::string version_text = c["version"];
    auto pre = flag(c["prereleases"]);
    bool as_version = c["as_version"];
    auto spec = Specifier::parse(text);
    if (!spec) {
      bad.add(show(text) + ": strata rejects the specifier: " + spec.error().message);
      continue;
    }
    bool got = false;
    if (as_version) {
      auto v = Version::parse(version_text);
      if (!v) {
        bad.add(show(version_text) + ": strata rejects the version");
        continue;
      }
      got = spec->contains(*v, pre);
    } else {
      got = spec->contains_text(version_text, pre);
    }
    if (got != c["result"].get<bool>()) {
      bad.add("Specifier(" + show(text) + ").contains(" +
              (as_version ? "Version(" + show(version_text) + ")" : show(version_text)) +
              ", prereleases=" + c["prereleases"].get<std::string>() + "): packaging " + c["result"].dump() +
              ", strata " + (got ? "true" : "false"));
    }
  }
  bad.check(contains.size());
}

}  // namespace
}  // namespace strata::pep
