// Differential tests: strata's PEP 508 markers and requirements, names and distribution file
// names against the answers of the pinned `packaging`, written by
// tests/differential/gen_markers.py into $STRATA_DIFF_CASES.

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>

#include "differential/cases.hpp"
#include "pep/marker.hpp"
#include "pep/name.hpp"
#include "pep/requirement.hpp"

namespace strata::pep {
namespace {

using nlohmann::json;
using strata::testing::load_cases;
using strata::testing::Mismatches;

// Which packaging exception an evaluation error of ours corresponds to.
std::string eval_error_class(const std::string& message) {
  if (message.starts_with("undefined environment name")) return "UndefinedEnvironmentName";
  return "UndefinedComparison";
}

TEST(MarkerDifferential, ParseStrAndEvaluateMatchPackaging) {
  auto data = load_cases("markers.json");
  ASSERT_TRUE(data.has_value());
  const json& cases = (*data)["cases"];
  ASSERT_GE(cases.size(), 3000u);
  Mismatches mismatches("markers");
  std::size_t true_count = 0;
  std::size_t false_count = 0;
  for (const json& c : cases) {
    std::string text = c["marker"].get<std::string>();
    auto marker = Marker::parse(text);
    if (c.contains("parse_error")) {
      if (marker) {
        mismatches.add("accepted invalid marker: " + json(text).dump());
      } else if (marker.error().message != c["parse_error"].get<std::string>()) {
        mismatches.add("error for " + json(text).dump() + ": " + json(marker.error().message).dump() +
                       " vs " + c["parse_error"].dump());
      }
      continue;
    }
    if (!marker) {
      mismatches.add("rejected valid marker: " + json(text).dump() + ": " + marker.error().message);
      continue;
    }
    if (!c["str"].is_null() && marker->str() != c["str"].get<std::string>()) {
      mismatches.add("str of " + json(text).dump() + ": " + json(marker->str()).dump() + " vs " +
                     c["str"].dump());
    }
    MarkerEnvironment env;
    for (const auto& [key, value] : c["env"].items()) env[key] = value.get<std::string>();
    MarkerContext context;
    context.environment = &env;
    context.extra = c["extra"].get<std::string>();
    for (const json& e : c["extras"]) context.extras.insert(e.get<std::string>());
    for (const json& g : c["dependency_groups"]) context.dependency_groups.insert(g.get<std::string>());
    auto result = marker->try_evaluate(context);
    std::string where = json(text).dump() + " in " + c["env"].dump() + " extra=" + c["extra"].dump() +
                        " extras=" + c["extras"].dump() + " groups=" + c["dependency_groups"].dump();
    if (c.contains("eval_error")) {
      if (result) {
        mismatches.add("evaluated (" + std::string(*result ? "true" : "false") + ") where packaging raises " +
                       c["eval_error"].get<std::string>() + ": " + where);
      } else if (eval_error_class(result.error().message) != c["eval_error"].get<std::string>()) {
        mismatches.add("error class " + eval_error_class(result.error().message) + " vs " +
                       c["eval_error"].get<std::string>() + ": " + where);
      }
      continue;
    }
    bool expected = c["result"].get<bool>();
    (expected ? true_count : false_count) += 1;
    if (!result) {
      mismatches.add("error " + json(result.error().message).dump() + " where packaging says " +
                     (expected ? "true" : "false") + ": " + where);
    } else if (*result != expected) {
      mismatches.add(std::string("got ") + (*result ? "true" : "false") + ": " + where);
    }
  }
  mismatches.check(cases.size());
  // The generator is meant to exercise both answers.
  EXPECT_GT(true_count, 500u);
  EXPECT_GT(false_count, 500u);
}

TEST(MarkerDifferential, RequirementsMatchPackaging) {
  auto data = load_cases("requirements.json");
  ASSERT_TRUE(data.has_value());
  const json& cases = (*data)["cases"];
  ASSERT_GE(cases.size(), 1000u);
  Mismatches mismatches("requirements");
  for (const json& c : cases) {
    std::string text = c["text"].get<std::string>();
    auto req = Requirement::parse(text);
    if (c.contains("syntax_error")) {
      if (req) {
        mismatches.add("accepted invalid requirement: " + json(text).dump());
      } else if (req.error().message != c["syntax_error"].get<std::string>()) {
        mismatches.add("error for " + json(text).dump() + ": " + json(req.error().message).dump() + " vs " +
                       c["syntax_error"].dump());
      }
      continue;
    }
    if (c.contains("specifier_error")) {
      if (req) mismatches.add("accepted requirement with invalid specifier: " + json(text).dump());
      continue;
    }
    if (!req) {
      mismatches.add("rejected " + json(text).dump() + ": " + req.error().message);
      continue;
    }
    json extras = json::array();
    for (const std::string& e : req->extras) extras.push_back(e);
    json marker = req->marker ? json(req->marker->str()) : json(nullptr);
    json ours = {{"name", req->name}, {"extras", extras}, {"specifier", req->specifier.str()},
                 {"url", req->url},   {"marker", marker}, {"str", req->str()}};
    for (const char* field : {"name", "extras", "specifier", "url", "marker", "str"}) {
      if (ours[field] != c[field]) {
        mismatches.add(std::string(field) + " of " + json(text).dump() + ": " + ours[field].dump() + " vs " +
                       c[field].dump());
      }
    }
  }
  mismatches.check(cases.size());
}

TEST(MarkerDifferential, NamesAndFilenamesMatchPackaging) {
  auto data = load_cases("names.json");
  ASSERT_TRUE(data.has_value());
  Mismatches mismatches("names and file names");
  std::size_t total = 0;
  for (const json& c : (*data)["names"]) {
    ++total;
    std::string name = c["name"].get<std::string>();
    if (normalize_name(name) != c["normalized"].get<std::string>()) {
      mismatches.add("normalize " + json(name).dump() + ": " + json(normalize_name(name)).dump());
    }
    if (is_valid_name(name) != c["valid"].get<bool>()) {
      mismatches.add("validity of " + json(name).dump());
    }
  }
  for (const json& c : (*data)["wheels"]) {
    ++total;
    std::string filename = c["filename"].get<std::string>();
    auto wheel = WheelFilename::parse(filename);
    if (c.contains("error")) {
      if (wheel) {
        mismatches.add("accepted wheel " + json(filename).dump());
      } else if (wheel.error().message != c["error"].get<std::string>()) {
        mismatches.add("error for " + json(filename).dump() + ": " + json(wheel.error().message).dump() +
                       " vs " + c["error"].dump());
      }
      continue;
    }
    if (!wheel) {
      mismatches.add("rejected wheel " + json(filename).dump() + ": " + wheel.error().message);
      continue;
    }
    json tags = json::array();
    std::vector<std::string> tag_texts;
    for (const Tag& tag : wheel->tags) tag_texts.push_back(tag.str());
    std::sort(tag_texts.begin(), tag_texts.end());
    for (const std::string& t : tag_texts) tags.push_back(t);
    json build = wheel->build ? json::array({wheel->build->first, wheel->build->second}) : json(nullptr);
    json ours = {{"name", wheel->name}, {"version", wheel->version.str()}, {"build", build}, {"tags", tags}};
    for (const char* field : {"name", "version", "build", "tags"}) {
      if (ours[field] != c[field]) {
        mismatches.add(std::string(field) + " of " + json(filename).dump() + ": " + ours[field].dump() +
                       " vs " + c[field].dump());
      }
    }
  }
  for (const json& c : (*data)["sdists"]) {
    ++total;
    std::string filename = c["filename"].get<std::string>();
    auto sdist = SdistFilename::parse(filename);
    if (c.contains("error")) {
      if (sdist) {
        mismatches.add("accepted sdist " + json(filename).dump());
      } else if (sdist.error().message != c["error"].get<std::string>()) {
        mismatches.add("error for " + json(filename).dump() + ": " + json(sdist.error().message).dump());
      }
      continue;
    }
    if (!sdist) {
      mismatches.add("rejected sdist " + json(filename).dump() + ": " + sdist.error().message);
    } else if (sdist->name != c["name"].get<std::string>() ||
               sdist->version.str() != c["version"].get<std::string>()) {
      mismatches.add("parsed " + json(filename).dump() + " as " + sdist->name + " " + sdist->version.str());
    }
  }
  mismatches.check(total);
}

}  // namespace
}  // namespace strata::pep
