#include "build/requirements.hpp"

#include <algorithm>
#include <map>

#include <gtest/gtest.h>

namespace strata::build::detail {
namespace {

env::Interpreter cpython311() {
  env::Interpreter py;
  py.executable = "/usr/bin/python3";
  py.implementation = "cpython";
  py.version = "3.11.2";
  py.major = 3;
  py.minor = 11;
  py.micro = 2;
  py.markers = {{"python_version", "3.11"},
                {"python_full_version", "3.11.2"},
                {"sys_platform", "linux"},
                {"os_name", "posix"},
                {"platform_machine", "x86_64"},
                {"implementation_name", "cpython"},
                {"platform_python_implementation", "CPython"},
                {"platform_system", "Linux"}};
  auto& t = py.tag_env;
  t.implementation = "cpython";
  t.major = 3;
  t.minor = 11;
  t.py_version_nodot = "311";
  t.ext_suffix = ".cpython-311-x86_64-linux-gnu.so";
  t.py_debug = false;
  t.with_pymalloc = true;
  t.system = "Linux";
  t.platform = "linux-x86_64";
  t.is_64bit = true;
  t.glibc = std::pair{2, 36};
  t.elf = pep::ElfHeader{2, 1, 62, 0};
  return py;
}

// A recording fake index: files per project, METADATA per file name.
class FakeIndex final : public PackageIndex {
 public:
  void add(const std::string& filename, const std::string& requires_dist = "", bool yanked = false,
           std::optional<std::string> requires_python = std::nullopt) {
    fetch::IndexFile f;
    f.filename = filename;
    f.url = "https://example.invalid/" + filename;
    f.hashes["sha256"] = std::string(64, static_cast<char>('a' + (count_++ % 6)));
    f.yanked = yanked;
    f.requires_python = requires_python;
    std::string project = filename.substr(0, filename.find('-'));
    for (auto& c : project) c = c == '_' ? '-' : c;
    files_[project].push_back(f);
    metadata_[filename] = "Metadata-Version: 2.1\nName: x\nVersion: 1\n" + requires_dist + "\n";
  }
  Result<std::vector<fetch::IndexFile>> files(std::string_view project) override {
    pages.emplace_back(project);
    auto it = files_.find(std::string(project));
    return it == files_.end() ? std::vector<fetch::IndexFile>{} : it->second;
  }
  Result<std::string> metadata(const fetch::IndexFile& file, const std::string&) override {
    return metadata_.at(file.filename);
  }
  std::vector<std::string> pages;

 private:
  int count_ = 0;
  std::map<std::string, std::vector<fetch::IndexFile>> files_;
  std::map<std::string, std::string> metadata_;
};

std::vector<std::string> names(const std::vector<Pin>& pins) {
  std::vector<std::string> out;
  for (const auto& p : pins) out.push_back(p.str() + " " + p.file.filename);
  return out;
}

TEST(ChooseRequirements, NewestCompatibleWheelAndItsDependencies) {
  FakeIndex index;
  index.add("setuptools-70.0.0-py3-none-any.whl");
  index.add("setuptools-75.0.0-py3-none-any.whl");
  index.add("setuptools-76.0.0-py3-none-any.whl", "", /*yanked=*/true);
  index.add("setuptools-77.0.0-py3-none-any.whl", "", false, ">=3.12");
  index.add("setuptools-78.0.0.tar.gz");
  index.add("setuptools-79.0.0b1-py3-none-any.whl");
  index.add("cffi-1.17.0-cp311-cp311-manylinux_2_17_x86_64.whl", "Requires-Dist: pycparser");
  index.add("cffi-1.17.0-cp312-cp312-manylinux_2_17_x86_64.whl", "Requires-Dist: pycparser");
  index.add("cffi-1.18.0-cp312-cp312-manylinux_2_17_x86_64.whl", "Requires-Dist: pycparser");
  index.add(
      "pycparser-2.22-py3-none-any.whl",
      "Requires-Dist: old-thing; python_version < \"3.8\"\nRequires-Dist: docs-thing; extra == \"docs\"");
  auto pins = choose_requirements({{"setuptools>=40.8.0", "pyproject"}, {"cffi", "pyproject"}}, cpython311(),
                                  nullptr, index);
  ASSERT_TRUE(pins) << pins.error().message;
  EXPECT_EQ(names(*pins),
            (std::vector<std::string>{"cffi==1.17.0 cffi-1.17.0-cp311-cp311-manylinux_2_17_x86_64.whl",
                                      "pycparser==2.22 pycparser-2.22-py3-none-any.whl",
                                      "setuptools==75.0.0 setuptools-75.0.0-py3-none-any.whl"}));
}

TEST(ChooseRequirements, ALaterSpecifierRevisesAnEarlierChoice) {
  FakeIndex index;
  index.add("packaging-24.0-py3-none-any.whl");
  index.add("packaging-22.0-py3-none-any.whl");
  index.add("hatchling-1.0-py3-none-any.whl", "Requires-Dist: packaging<23");
  auto pins = choose_requirements({{"packaging", "pyproject"}, {"hatchling", "pyproject"}}, cpython311(),
                                  nullptr, index);
  ASSERT_TRUE(pins) << pins.error().message;
  EXPECT_EQ((*pins)[1].str(), "packaging==22.0");
}

TEST(ChooseRequirements, ExtrasFollowTheirDependencies) {
  FakeIndex index;
  index.add("setuptools_scm-8.0-py3-none-any.whl", "Requires-Dist: tomli; extra == \"toml\"");
  index.add("tomli-2.0-py3-none-any.whl");
  auto pins = choose_requirements({{"setuptools_scm[toml]", "pyproject"}}, cpython311(), nullptr, index);
  ASSERT_TRUE(pins) << pins.error().message;
  ASSERT_EQ(pins->size(), 2u);
  EXPECT_EQ((*pins)[1].str(), "tomli==2.0");
}

TEST(ChooseRequirements, ConflictNamesBothSides) {
  FakeIndex index;
  index.add("setuptools-70.0.0-py3-none-any.whl");
  index.add("setuptools-50.0.0-py3-none-any.whl");
  auto pins = choose_requirements({{"setuptools>=60", "pyproject.toml"}, {"setuptools<55", "get_requires"}},
                                  cpython311(), nullptr, index);
  ASSERT_FALSE(pins);
  EXPECT_NE(
      pins.error().message.find("build requirements conflict: \"setuptools>=60\" (from pyproject.toml) and "
                                "\"setuptools<55\" (from get_requires)"),
      std::string::npos)
      << pins.error().message;
}

TEST(ChooseRequirements, LockSpecifierConstraintsNarrowOnlyWhatIsRequired) {
  FakeIndex index;
  index.add("setuptools-75.0.0-py3-none-any.whl");
  index.add("setuptools-70.0.0-py3-none-any.whl");
  index.add("wheel-0.45.0-py3-none-any.whl");
  index.add("wheel-0.44.0-py3-none-any.whl");
  index.add("cython-3.0.0-py3-none-any.whl");
  std::vector<Wanted> wanted{{"setuptools>=60", "pyproject.toml"}, {"wheel", "pyproject.toml"}};
  std::vector<SpecifierConstraint> limits{
      {"setuptools<71", "uv.lock [manifest] build-constraints"},
      {"wheel<0.45 ; python_version < '3.9'", "uv.lock [manifest] build-constraints"},  // false here
      {"cython==3.0.0", "uv.lock [manifest] build-constraints"}};                       // not required
  auto pins = choose_requirements(wanted, cpython311(), nullptr, index, limits);
  ASSERT_TRUE(pins) << pins.error().message;
  EXPECT_EQ(names(*pins), (std::vector<std::string>{"setuptools==70.0.0 setuptools-70.0.0-py3-none-any.whl",
                                                    "wheel==0.45.0 wheel-0.45.0-py3-none-any.whl"}));
  EXPECT_EQ(std::count(index.pages.begin(), index.pages.end(), "cython"), 0);

  limits[1].text = "wheel<0.45 ; python_full_version >= '3.9'";  // now true
  auto narrowed = choose_requirements(wanted, cpython311(), nullptr, index, limits);
  ASSERT_TRUE(narrowed) << narrowed.error().message;
  EXPECT_EQ((*narrowed)[1].str(), "wheel==0.44.0");

  auto conflict =
      choose_requirements({{"setuptools>=72", "pyproject.toml"}}, cpython311(), nullptr, index, limits);
  ASSERT_FALSE(conflict);
  EXPECT_NE(
      conflict.error().message.find("build requirements conflict: \"setuptools>=72\" (from pyproject.toml) "
                                    "and \"setuptools<71\" (from uv.lock [manifest] build-constraints)"),
      std::string::npos)
      << conflict.error().message;
}

TEST(ChooseRequirements, NothingFittingNamesTheRequirement) {
  FakeIndex index;
  index.add("numpy-2.0.0.tar.gz");
  auto pins = choose_requirements({{"numpy>=2", "pyproject.toml"}}, cpython311(), nullptr, index);
  ASSERT_FALSE(pins);
  EXPECT_NE(pins.error().message.find("no wheel of numpy satisfying \"numpy>=2\" (from pyproject.toml)"),
            std::string::npos)
      << pins.error().message;
}

TEST(ChooseRequirements, ConstraintsPinVersionAndHash) {
  FakeIndex index;
  index.add("wheel-0.40.0-py3-none-any.whl");
  index.add("wheel-0.45.0-py3-none-any.whl");
  std::vector<BuildConstraint> constraints{{"wheel", "0.40.0", {std::string(64, 'a')}, ""}};
  auto pins = choose_requirements({{"wheel", "setup.py default"}}, cpython311(), &constraints, index);
  ASSERT_TRUE(pins) << pins.error().message;
  EXPECT_EQ(pins->front().str(), "wheel==0.40.0");
  constraints.front().sha256 = {std::string(64, 'f')};
  auto wrong_hash = choose_requirements({{"wheel", "setup.py default"}}, cpython311(), &constraints, index);
  ASSERT_FALSE(wrong_hash);
  EXPECT_NE(wrong_hash.error().message.find("with one of the pinned hashes"), std::string::npos);
  auto unpinned = choose_requirements({{"setuptools", "x"}}, cpython311(), &constraints, index);
  ASSERT_FALSE(unpinned);
  EXPECT_NE(unpinned.error().message.find("is not pinned"), std::string::npos);
  auto outside = choose_requirements({{"wheel>=0.41", "x"}}, cpython311(), &constraints, index);
  ASSERT_FALSE(outside);
  EXPECT_NE(outside.error().message.find("conflicts with \"wheel>=0.41\" (from x)"), std::string::npos);
}

}  // namespace
}  // namespace strata::build::detail
