// Differential tests: targets without an interpreter (env/target_spec.hpp) — the ordered wheel
// tags and the marker environment strata computes from (version, platform, implementation)
// against the pinned `packaging`'s, written by tests/differential/gen_targets.py into
// $STRATA_DIFF_CASES.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "differential/cases.hpp"
#include "env/target_spec.hpp"
#include "pep/tags.hpp"

namespace strata::env {
namespace {

using nlohmann::json;
using strata::testing::load_cases;
using strata::testing::Mismatches;

TargetSpec spec_of(const json& c) {
  TargetSpec spec;
  spec.python_version = c["python_version"].get<std::string>();
  spec.platform = c["platform"].get<std::string>();
  spec.implementation = c["implementation"].get<std::string>();
  spec.abi = c["abi"].get<std::string>();
  return spec;
}

std::string name_of(const json& c) {
  return c["implementation"].get<std::string>() + " " + c["python_version"].get<std::string>() + " " +
         c["platform"].get<std::string>() +
         (c["abi"].get<std::string>().empty() ? "" : " " + c["abi"].get<std::string>());
}

// The first difference between two tag lists, or "".
std::string tag_difference(const std::vector<pep::Tag>& ours, const json& theirs) {
  for (std::size_t i = 0; i < std::max(ours.size(), theirs.size()); ++i) {
    std::string a = i < ours.size() ? ours[i].str() : "(end)";
    std::string b = i < theirs.size() ? theirs[i].get<std::string>() : "(end)";
    if (a != b)
      return "tag " + std::to_string(i) + ": " + a + " vs " + b + " (" + std::to_string(ours.size()) +
             " vs " + std::to_string(theirs.size()) + " tags)";
  }
  return "";
}

TEST(TargetDifferential, TagsAndMarkersMatchPackaging) {
  auto data = load_cases("targets.json");
  ASSERT_TRUE(data.has_value());
  const json& cases = (*data)["cases"];
  ASSERT_GE(cases.size(), 400u);
  Mismatches mismatches("described targets");
  std::set<std::string> platforms;
  for (const json& c : cases) {
    auto interp = describe_interpreter(spec_of(c));
    if (!interp) {
      mismatches.add(name_of(c) + ": " + interp.error().message);
      continue;
    }
    platforms.insert(c["platform"].get<std::string>());
    if (auto diff = tag_difference(pep::supported_tags(interp->tag_env), c["tags"]); !diff.empty())
      mismatches.add(name_of(c) + ": " + diff);
    if (json(interp->markers) != c["markers"])
      mismatches.add(name_of(c) + ": markers " + json(interp->markers).dump() + " vs " + c["markers"].dump());
  }
  mismatches.check(cases.size());
  EXPECT_GE(platforms.size(), 30u);
}

// strata's description of the real testenv interpreter (its version, its glibc as a manylinux
// tag) gives what packaging says inside it: sys_tags() and default_environment() but the kernel's
// release and version.
TEST(TargetDifferential, DescribedHostEqualsTheRealInterpreter) {
  auto data = load_cases("targets.json");
  ASSERT_TRUE(data.has_value());
  const json& host = (*data)["host"];
  if (host.is_null()) GTEST_SKIP() << "the testenv interpreter is not on glibc Linux";
  auto interp = describe_interpreter(spec_of(host));
  ASSERT_TRUE(interp) << interp.error().message;
  EXPECT_EQ(tag_difference(pep::supported_tags(interp->tag_env), host["tags"]), "");
  json markers = host["markers"];
  markers["platform_release"] = "";
  markers["platform_version"] = "";
  EXPECT_EQ(json(interp->markers), markers);
}

}  // namespace
}  // namespace strata::env
