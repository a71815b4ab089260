// strata's selection against what `poetry export --without-hashes` selected for the same choices
// and target (tests/fixtures/locks/<name>/exports.json, written by regenerate.py there), and
// Poetry's content-hash recomputed for each fixture.

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include "support/paths.hpp"

#include "lock/content_hash.hpp"
#include "lock/load.hpp"
#include "util/fs.hpp"

namespace strata::lock {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> fixture_dirs(std::string_view lock_name) {
  std::vector<fs::path> dirs;
  fs::path root = strata::testing::fixtures_dir();
  root /= "locks";
  if (!fs::is_directory(root)) return dirs;
  for (const auto& entry : fs::directory_iterator(root)) {
    if (entry.is_directory() && fs::exists(entry.path() / lock_name)) dirs.push_back(entry.path());
  }
  std::sort(dirs.begin(), dirs.end());
  return dirs;
}

std::vector<std::string> strings(const nlohmann::json& j, const char* key) {
  std::vector<std::string> out;
  if (j.contains(key)) {
    for (const auto& s : j[key]) out.push_back(s.get<std::string>());
  }
  return out;
}

std::string describe(const nlohmann::json& c) {
  nlohmann::json d = c;
  d.erase("packages");
  d.erase("environment");
  if (c.contains("environment")) d["sys_platform"] = c["environment"].value("sys_platform", "");
  return d.dump();
}

TEST(PoetryExportDiff, SelectionEqualsPoetryExportForEveryCase) {
  auto dirs = fixture_dirs("exports.json");
  ASSERT_FALSE(dirs.empty()) << "no fixtures with exports.json under " << strata::testing::fixtures_dir();
  int cases = 0;
  for (const auto& dir : dirs) {
    auto lock = load_lock(dir);
    ASSERT_TRUE(lock) << dir << ": " << lock.error().message;
    auto text = util::read_file(dir / "exports.json");
    ASSERT_TRUE(text);
    auto exports = nlohmann::json::parse(*text);
    for (const auto& c : exports["cases"]) {
      SelectionRequest request;
      request.only = strings(c, "only");
      request.with = strings(c, "with");
      request.without = strings(c, "without");
      request.extras = strings(c, "extras");
      request.all_extras = c.value("all_extras", false);
      for (const auto& [key, value] : c["environment"].items())
        request.environment[key] = value.get<std::string>();
      request.python_full_version = c.value("python_full_version", "");
      auto selection = select(*lock, request);
      ASSERT_TRUE(selection) << dir.filename() << " " << describe(c) << ": " << selection.error().message;
      std::map<std::string, std::string> got, want;
      for (const auto& p : selection->packages) got[p.name] = p.version_text;
      for (const auto& [name, version] : c["packages"].items()) want[name] = version.get<std::string>();
      if (got != want) {
        std::ostringstream diff;
        for (const auto& [name, version] : want) {
          auto it = got.find(name);
          if (it == got.end()) {
            std::string why;
            for (const auto& e : selection->excluded) {
              if (e.name == name) why = e.reason;
            }
            diff << "  missing " << name << " " << version << " (strata: " << why << ")\n";
          } else if (it->second != version) {
            diff << "  version " << name << ": strata " << it->second << ", poetry " << version << "\n";
          }
        }
        for (const auto& [name, version] : got) {
          if (!want.contains(name)) diff << "  extra   " << name << " " << version << "\n";
        }
        ADD_FAILURE() << dir.filename() << " " << describe(c) << "\n" << diff.str();
      }
      ++cases;
    }
  }
  EXPECT_GT(cases, 0);
}

TEST(PoetryExportDiff, ContentHashMatchesFreshFixturesAndNotEditedOnes) {
  auto dirs = fixture_dirs("poetry.lock");
  ASSERT_FALSE(dirs.empty());
  for (const auto& dir : dirs) {
    auto lock = load_lock(dir);
    ASSERT_TRUE(lock) << dir << ": " << lock.error().message;
    auto pyproject = util::read_file(dir / "pyproject.toml");
    ASSERT_TRUE(pyproject);
    auto fresh = content_hash_matches(*lock, *pyproject, "pyproject.toml");
    ASSERT_TRUE(fresh) << fresh.error().message;
    EXPECT_TRUE(*fresh) << dir.filename() << ": recomputed content-hash differs from the lock's "
                        << lock->content_hash;

    // Editing a dependency constraint must change the hash: append a dependency line to the
    // first dependency table/array the project has.
    std::string edited = *pyproject;
    for (std::string_view anchor : {"dependencies = [\n", "[tool.poetry.dependencies]\n"}) {
      auto pos = edited.find(anchor);
      if (pos == std::string::npos) continue;
      pos += anchor.size();
      edited.insert(pos, anchor.front() == '[' && anchor[1] == 't' ? "zzz-added = \"^1.0\"\n"
                                                                   : "    \"zzz-added>=1\",\n");
      break;
    }
    ASSERT_NE(edited, *pyproject) << dir.filename() << ": no dependency table to edit";
    auto stale = content_hash_matches(*lock, edited, "pyproject.toml");
    ASSERT_TRUE(stale) << stale.error().message;
    EXPECT_FALSE(*stale) << dir.filename() << ": content-hash did not change after an edit";
  }
}

}  // namespace
}  // namespace strata::lock
