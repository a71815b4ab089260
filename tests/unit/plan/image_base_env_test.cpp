#include "plan/image_base_env.hpp"

#include <gtest/gtest.h>

#include "util/fs.hpp"

namespace strata::plan {
namespace {
namespace fs = std::filesystem;

oci::BaseNode file(std::string content = "") {
  oci::BaseNode n;
  n.type = oci::BaseNode::Type::file;
  n.content = std::move(content);
  return n;
}
oci::BaseNode dir() {
  oci::BaseNode n;
  n.type = oci::BaseNode::Type::directory;
  return n;
}

const std::string kSite = "opt/venv/lib/python3.11/site-packages";

/// A base whose venv has six 1.16.0 with a module the next version lacks (and its pyc).
oci::BaseFiles six_base() {
  oci::BaseFiles f;
  for (const char* d : {"opt", "opt/venv", "opt/venv/lib", "opt/venv/lib/python3.11"}) f.nodes[d] = dir();
  f.nodes[kSite] = dir();
  f.nodes[kSite + "/six.py"] = file();
  f.nodes[kSite + "/other.py"] = file();
  f.nodes[kSite + "/six_old"] = dir();
  f.nodes[kSite + "/six_old/__init__.py"] = file();
  f.nodes[kSite + "/six_old/__pycache__"] = dir();
  f.nodes[kSite + "/six_old/__pycache__/__init__.cpython-311.pyc"] = file();
  f.nodes[kSite + "/six-1.16.0.dist-info"] = dir();
  f.nodes[kSite + "/six-1.16.0.dist-info/METADATA"] = file("Name: six\nVersion: 1.16.0\n");
  f.nodes[kSite + "/six-1.16.0.dist-info/RECORD"] = file(
      "six.py,,\nsix_old/__init__.py,,\nsix-1.16.0.dist-info/METADATA,,\nsix-1.16.0.dist-info/RECORD,,\n");
  return f;
}

std::vector<fs::path> venv_roots() {
  const fs::path site = "/" + kSite;
  return {site, site, "/opt/venv/bin", "/opt/venv", "/opt/venv/include/site/python3.11"};
}

TEST(ImageBaseEnv, ReplacedPathsAreWhatCommitRemoves) {
  const fs::path site = "/" + kSite;
  auto removed = replaced_paths(six_base(), site / "six-1.16.0.dist-info",
                                {site / "six.py", site / "six-1.17.0.dist-info"}, venv_roots());
  ASSERT_TRUE(removed) << removed.error().message;
  // six.py is overwritten, other.py is not six's; the old module goes with its pyc and its
  // directories, the .dist-info whole.
  EXPECT_EQ(*removed,
            (std::vector<std::string>{
                kSite + "/six-1.16.0.dist-info", kSite + "/six-1.16.0.dist-info/METADATA",
                kSite + "/six-1.16.0.dist-info/RECORD", kSite + "/six_old", kSite + "/six_old/__init__.py",
                kSite + "/six_old/__pycache__", kSite + "/six_old/__pycache__/__init__.cpython-311.pyc"}));
}

TEST(ImageBaseEnv, AMissingRecordNamesTheDistribution) {
  oci::BaseFiles f = six_base();
  f.nodes.erase(kSite + "/six-1.16.0.dist-info/RECORD");
  auto removed = replaced_paths(f, "/" + kSite + "/six-1.16.0.dist-info", {}, venv_roots());
  ASSERT_FALSE(removed);
  EXPECT_NE(removed.error().message.find("six-1.16.0.dist-info/RECORD"), std::string::npos);
}

TEST(ImageBaseEnv, WhiteoutsHideWhatTheLayerDoesNotWrite) {
  const std::string old_di = kSite + "/six-1.16.0.dist-info";
  std::vector<oci::LayerEntry> entries(2);
  entries[0].path = kSite + "/six.py";
  entries[1].path = old_di + "/METADATA";  // the same .dist-info name (another wheel of 1.16.0)
  auto hidden = whiteouts({old_di, old_di + "/INSTALLER", old_di + "/METADATA", kSite + "/six_old",
                           kSite + "/six_old/__init__.py", kSite + "/six.py"},
                          entries);
  std::vector<std::string> paths;
  for (const auto& e : hidden) {
    EXPECT_EQ(e.type, oci::LayerEntry::Type::file);
    EXPECT_TRUE(e.content.empty() && e.source.empty());
    paths.push_back(e.path);
  }
  EXPECT_EQ(paths, (std::vector<std::string>{kSite + "/.wh.six_old", old_di + "/.wh.INSTALLER"}));
}

TEST(ImageBaseEnv, ReadsTheVenvAndTheSystemSitePackages) {
  oci::BaseFiles f;
  f.nodes["opt/venv/pyvenv.cfg"] =
      file("home = /usr/bin\nInclude-System-Site-Packages = True\nversion = 3.11.2\n");
  f.nodes[kSite] = dir();
  f.nodes[kSite + "/six-1.16.0.dist-info/METADATA"] =
      file("Metadata-Version: 2.1\nName: six\nVersion: 1.16.0\n");
  f.nodes["opt/venv/.strata/owners/app.json"] = file(
      R"({"format": 2, "owner": "app", "distributions": {"six": {"version": "1.16.0", "wheel": "six.whl", )"
      R"("sha256": "", "dist_info": "/opt/venv/lib/python3.11/site-packages/six-1.16.0.dist-info"}}})");
  f.nodes["usr/lib/python3/dist-packages"] = dir();
  f.nodes["usr/lib/python3/dist-packages/attrs-22.2.0.dist-info/METADATA"] =
      file("Metadata-Version: 2.1\nName: attrs\nVersion: 22.2.0\n");
  f.nodes["usr/local/lib/python3.11/site-packages"] = dir();  // not Debian's: not on sys.path
  oci::BaseTarget t;
  t.major = 3;
  t.minor = 11;
  t.prefix = "/usr";
  auto scratch = util::TempDir::create(fs::temp_directory_path(), "image-base-env-");
  ASSERT_TRUE(scratch);
  auto env = read_base_environment(f, t, "/opt/venv", scratch->path());
  ASSERT_TRUE(env) << env.error().message;
  EXPECT_TRUE(env->exists && env->system_site_packages);
  EXPECT_EQ(env->version, "3.11.2");
  EXPECT_EQ(env->site_dirs, (std::vector<fs::path>{"/" + kSite, "/usr/lib/python3/dist-packages"}));
  ASSERT_EQ(env->installed.distributions.size(), 2u);
  const auto* attrs = env->installed.find("attrs");
  ASSERT_NE(attrs, nullptr);
  EXPECT_EQ(attrs->path, fs::path("/usr/lib/python3/dist-packages/attrs-22.2.0.dist-info"));
  EXPECT_EQ(attrs->site_dir, fs::path("/usr/lib/python3/dist-packages"));
  EXPECT_EQ(env->ledger.owner_of("six"), "app");

  f.nodes["opt/venv/pyvenv.cfg"] = file("home = /usr/bin\ninclude-system-site-packages = false\n");
  auto alone = read_base_environment(f, t, "/opt/venv", scratch->path() / "again");
  ASSERT_TRUE(alone);
  EXPECT_EQ(alone->site_dirs, (std::vector<fs::path>{"/" + kSite}));
  EXPECT_EQ(alone->installed.distributions.size(), 1u);
  EXPECT_FALSE(read_base_environment(f, t, "/srv/env", scratch->path() / "none")->exists);
  util::remove_tree(scratch->path());
}

}  // namespace
}  // namespace strata::plan
