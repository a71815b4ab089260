#include "pep/tags.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace strata::pep {
namespace {

std::vector<std::string> strings(const std::vector<Tag>& tags) {
  std::vector<std::string> out;
  for (const auto& tag : tags) out.push_back(tag.str());
  return out;
}

long index_of(const std::vector<std::string>& tags, const std::string& tag) {
  auto it = std::find(tags.begin(), tags.end(), tag);
  return it == tags.end() ? -1 : static_cast<long>(it - tags.begin());
}

bool contains(const std::vector<std::string>& tags, const std::string& tag) {
  return index_of(tags, tag) >= 0;
}

TagEnvironment linux_cpython(int minor, const std::string& arch, std::pair<int, int> glibc) {
  TagEnvironment env;
  env.implementation = "cpython";
  env.major = 3;
  env.minor = minor;
  env.py_version_nodot = "3" + std::to_string(minor);
  env.ext_suffix = ".cpython-3" + std::to_string(minor) + "-" + arch + "-linux-gnu.so";
  env.py_debug = false;
  env.with_pymalloc = true;
  env.system = "Linux";
  env.platform = "linux-" + arch;
  env.is_64bit = true;
  env.glibc = glibc;
  env.elf = ElfHeader{2, 1, arch == "x86_64" ? 62 : 183, 0};
  return env;
}

TEST(Tags, Cpython311Glibc236X86_64) {
  const auto tags = strings(supported_tags(linux_cpython(11, "x86_64", {2, 36})));
  // 36 platforms: linux_x86_64, manylinux_2_36 .. 2_5 (32) and the three legacy aliases.
  // cp311: own ABI, abi3, none (3 x 36), abi3 for cp310..cp32 (9 x 36); compatible: py311, py3,
  // py310..py30 (13 x 36), cp311-none-any and 13 py*-none-any.
  ASSERT_EQ(tags.size(), 3u * 36 + 9 * 36 + 13 * 36 + 1 + 13);
  EXPECT_EQ(tags[0], "cp311-cp311-linux_x86_64");  // packaging 26.3: linux_* before manylinux
  EXPECT_EQ(tags[1], "cp311-cp311-manylinux_2_36_x86_64");
  EXPECT_EQ(index_of(tags, "cp311-abi3-linux_x86_64"), 36);
  EXPECT_EQ(index_of(tags, "cp311-none-linux_x86_64"), 72);
  EXPECT_EQ(index_of(tags, "cp310-abi3-linux_x86_64"), 108);
  EXPECT_EQ(tags[3 * 36 + 9 * 36 - 1], "cp32-abi3-manylinux1_x86_64");
  // Legacy aliases right after the manylinux_2_X tag they alias.
  const long m217 = index_of(tags, "cp311-cp311-manylinux_2_17_x86_64");
  EXPECT_EQ(tags[static_cast<std::size_t>(m217 + 1)], "cp311-cp311-manylinux2014_x86_64");
  EXPECT_EQ(tags[static_cast<std::size_t>(m217 + 2)], "cp311-cp311-manylinux_2_16_x86_64");
  const long m212 = index_of(tags, "cp311-cp311-manylinux_2_12_x86_64");
  EXPECT_EQ(tags[static_cast<std::size_t>(m212 + 1)], "cp311-cp311-manylinux2010_x86_64");
  EXPECT_EQ(tags[35], "cp311-cp311-manylinux1_x86_64");
  EXPECT_EQ(tags[34], "cp311-cp311-manylinux_2_5_x86_64");
  EXPECT_FALSE(contains(tags, "cp311-cp311-manylinux_2_4_x86_64"));
  EXPECT_FALSE(contains(tags, "cp311-cp311-manylinux_2_37_x86_64"));
  EXPECT_FALSE(contains(tags, "cp31-abi3-linux_x86_64"));
  // The tail: py3X-none-<platform> groups, then cp311-none-any, then the py*-none-any range.
  const std::size_t n = tags.size();
  EXPECT_EQ(tags[432], "py311-none-linux_x86_64");
  EXPECT_EQ(tags[432 + 36], "py3-none-linux_x86_64");
  EXPECT_EQ(tags[n - 15], "py30-none-manylinux1_x86_64");
  EXPECT_EQ(tags[n - 14], "cp311-none-any");
  EXPECT_EQ(tags[n - 13], "py311-none-any");
  EXPECT_EQ(tags[n - 12], "py3-none-any");
  EXPECT_EQ(tags[n - 11], "py310-none-any");
  EXPECT_EQ(tags[n - 1], "py30-none-any");
}

TEST(Tags, FreeThreaded313UsesAbi3tAndNoAbi3) {
  auto env = linux_cpython(13, "x86_64", {2, 36});
  env.gil_disabled = true;
  env.abiflags = "t";
  const auto tags = strings(supported_tags(env));
  EXPECT_EQ(tags[0], "cp313-cp313t-linux_x86_64");
  EXPECT_EQ(index_of(tags, "cp313-abi3t-linux_x86_64"), 36);
  EXPECT_EQ(index_of(tags, "cp313-none-linux_x86_64"), 72);
  EXPECT_EQ(index_of(tags, "cp312-abi3t-linux_x86_64"), 108);
  EXPECT_TRUE(contains(tags, "cp32-abi3t-manylinux1_x86_64"));
  EXPECT_FALSE(std::any_of(tags.begin(), tags.end(),
                           [](const std::string& t) { return t.find("-abi3-") != std::string::npos; }));
  EXPECT_FALSE(contains(tags, "cp313-cp313-linux_x86_64"));
  EXPECT_EQ(tags.back(), "py30-none-any");
  EXPECT_TRUE(contains(tags, "cp313-none-any"));
}

TEST(Tags, FreeThreadedFlagIgnoredBefore313) {
  auto env = linux_cpython(12, "x86_64", {2, 36});
  env.gil_disabled = true;
  EXPECT_EQ(supported_tags(env).front().str(), "cp312-cp312-linux_x86_64");
}

TEST(Tags, DebugBuildAlsoLoadsNormalAbi) {
  auto env = linux_cpython(12, "x86_64", {2, 36});
  env.py_debug = true;
  const auto tags = strings(supported_tags(env));
  EXPECT_EQ(tags[0], "cp312-cp312d-linux_x86_64");
  EXPECT_EQ(tags[36], "cp312-cp312-linux_x86_64");
  EXPECT_EQ(tags[72], "cp312-abi3-linux_x86_64");
  // Py_DEBUG unset: sys.gettotalrefcount decides.
  env.py_debug.reset();
  env.has_gettotalrefcount = true;
  EXPECT_EQ(supported_tags(env).front().str(), "cp312-cp312d-linux_x86_64");
  env.has_gettotalrefcount = false;
  EXPECT_EQ(supported_tags(env).front().str(), "cp312-cp312-linux_x86_64");
}

TEST(Tags, Cpython38MuslAarch64) {
  TagEnvironment env = linux_cpython(8, "aarch64", {0, 0});
  env.glibc.reset();
  env.musl = std::pair{1, 2};
  const auto tags = strings(supported_tags(env));
  const std::vector<std::string> head{"cp38-cp38-linux_aarch64", "cp38-cp38-musllinux_1_2_aarch64",
                                      "cp38-cp38-musllinux_1_1_aarch64", "cp38-cp38-musllinux_1_0_aarch64",
                                      "cp38-abi3-linux_aarch64"};
  ASSERT_GE(tags.size(), head.size());
  EXPECT_EQ(std::vector<std::string>(tags.begin(), tags.begin() + 5), head);
  EXPECT_FALSE(std::any_of(tags.begin(), tags.end(),
                           [](const std::string& t) { return t.find("manylinux") != std::string::npos; }));
  // 4 platforms: cp38 own/abi3/none (12), abi3 cp37..cp32 (24), py38, py3, py37..py30 (40), 1 + 10.
  EXPECT_EQ(tags.size(), 12u + 24 + 40 + 1 + 10);
  EXPECT_EQ(tags.back(), "py30-none-any");
  EXPECT_EQ(tags[tags.size() - 11], "cp38-none-any");
}

TEST(Tags, Aarch64ManylinuxStopsAt217) {
  const auto tags = strings(supported_tags(linux_cpython(12, "aarch64", {2, 28})));
  EXPECT_EQ(tags[1], "cp312-cp312-manylinux_2_28_aarch64");
  EXPECT_TRUE(contains(tags, "cp312-cp312-manylinux2014_aarch64"));
  EXPECT_FALSE(contains(tags, "cp312-cp312-manylinux_2_16_aarch64"));
  EXPECT_FALSE(contains(tags, "cp312-cp312-manylinux2010_aarch64"));
  // linux + 2_28..2_17 (12) + manylinux2014
  EXPECT_EQ(index_of(tags, "cp312-abi3-linux_aarch64"), 14);
}

TEST(Tags, PyPy310UsesGenericTagsAndPp3) {
  TagEnvironment env = linux_cpython(10, "x86_64", {2, 36});
  env.implementation = "pypy";
  env.ext_suffix = ".pypy310-pp73-x86_64-linux-gnu.so";
  env.soabi = "pypy310-pp73";
  env.py_debug.reset();
  env.with_pymalloc.reset();
  const auto tags = strings(supported_tags(env));
  EXPECT_EQ(tags[0], "pp310-pypy310_pp73-linux_x86_64");
  EXPECT_EQ(tags[1], "pp310-pypy310_pp73-manylinux_2_36_x86_64");
  EXPECT_EQ(tags[36], "pp310-none-linux_x86_64");
  EXPECT_EQ(tags[72], "py310-none-linux_x86_64");
  EXPECT_FALSE(std::any_of(tags.begin(), tags.end(),
                           [](const std::string& t) { return t.find("abi3") != std::string::npos; }));
  // 2 x 36 generic, 12 x 36 compatible (py310, py3, py39..py30), pp3-none-any, 12 py*-none-any.
  ASSERT_EQ(tags.size(), 2u * 36 + 12 * 36 + 1 + 12);
  EXPECT_EQ(tags[tags.size() - 13], "pp3-none-any");
  EXPECT_EQ(tags.back(), "py30-none-any");
}

TEST(Tags, Cpython37mWithPymalloc) {
  auto env = linux_cpython(7, "x86_64", {2, 36});
  env.abiflags = "m";
  auto tags = strings(supported_tags(env));
  EXPECT_EQ(tags[0], "cp37-cp37m-linux_x86_64");
  EXPECT_EQ(tags[36], "cp37-abi3-linux_x86_64");
  EXPECT_FALSE(contains(tags, "cp37-cp37-linux_x86_64"));
  // WITH_PYMALLOC unset counts as on; off drops the "m".
  env.with_pymalloc.reset();
  EXPECT_EQ(supported_tags(env).front().str(), "cp37-cp37m-linux_x86_64");
  env.with_pymalloc = false;
  EXPECT_EQ(supported_tags(env).front().str(), "cp37-cp37-linux_x86_64");
  // Debug on 3.7 stacks flags and adds no plain ABI.
  env.with_pymalloc = true;
  env.py_debug = true;
  tags = strings(supported_tags(env));
  EXPECT_EQ(tags[0], "cp37-cp37dm-linux_x86_64");
  EXPECT_EQ(tags[36], "cp37-abi3-linux_x86_64");
}

TEST(Tags, I686NeedsA32BitElfInterpreter) {
  auto env = linux_cpython(11, "x86_64", {2, 36});
  env.is_64bit = false;
  env.elf = ElfHeader{1, 1, 3, 0};
  auto tags = strings(supported_tags(env));
  EXPECT_EQ(tags[0], "cp311-cp311-linux_i686");
  EXPECT_EQ(tags[1], "cp311-cp311-manylinux_2_36_i686");
  EXPECT_TRUE(contains(tags, "cp311-cp311-manylinux1_i686"));
  // A 64-bit ELF executable fails packaging's i686 check: only linux_i686 remains.
  env.elf = ElfHeader{2, 1, 62, 0};
  tags = strings(supported_tags(env));
  EXPECT_EQ(tags[0], "cp311-cp311-linux_i686");
  EXPECT_EQ(tags[1], "cp311-abi3-linux_i686");
}

TEST(Tags, Armv8lAlsoOffersArmv7lWhenHardFloat) {
  auto env = linux_cpython(11, "aarch64", {2, 31});
  env.is_64bit = false;
  env.elf = ElfHeader{1, 1, 40, 0x05000400};
  auto tags = strings(supported_tags(env));
  EXPECT_EQ(tags[0], "cp311-cp311-linux_armv8l");
  EXPECT_EQ(tags[1], "cp311-cp311-linux_armv7l");
  EXPECT_EQ(tags[2], "cp311-cp311-manylinux_2_31_armv8l");
  EXPECT_TRUE(contains(tags, "cp311-cp311-manylinux_2_31_armv7l"));
  EXPECT_TRUE(contains(tags, "cp311-cp311-manylinux2014_armv7l"));
  env.elf = ElfHeader{1, 1, 40, 0x05000000};  // soft float
  tags = strings(supported_tags(env));
  EXPECT_EQ(tags[2], "cp311-abi3-linux_armv8l");
}

TEST(Tags, ManylinuxModuleRejectionsAreHonoured) {
  auto env = linux_cpython(11, "x86_64", {2, 36});
  env.manylinux_rejected = {"manylinux_2_17_x86_64", "manylinux_2_5_x86_64"};
  const auto tags = strings(supported_tags(env));
  EXPECT_FALSE(contains(tags, "cp311-cp311-manylinux_2_17_x86_64"));
  EXPECT_FALSE(contains(tags, "cp311-cp311-manylinux2014_x86_64"));
  EXPECT_FALSE(contains(tags, "cp311-cp311-manylinux1_x86_64"));
  EXPECT_TRUE(contains(tags, "cp311-cp311-manylinux2010_x86_64"));
}

TEST(Tags, GlibcMajorAbove2CountsDownThroughOlderMajors) {
  const auto tags = strings(supported_tags(linux_cpython(11, "x86_64", {3, 1})));
  EXPECT_EQ(tags[1], "cp311-cp311-manylinux_3_1_x86_64");
  EXPECT_EQ(tags[2], "cp311-cp311-manylinux_3_0_x86_64");
  EXPECT_EQ(tags[3], "cp311-cp311-manylinux_2_50_x86_64");
}

TEST(Tags, NoGlibcNoMuslMeansOnlyLinuxPlatform) {
  auto env = linux_cpython(11, "x86_64", {2, 36});
  env.glibc.reset();
  EXPECT_EQ(platform_tags(env), std::vector<std::string>{"linux_x86_64"});
}

TEST(Tags, MacOsArm64) {
  TagEnvironment env;
  env.implementation = "cpython";
  env.minor = 12;
  env.py_version_nodot = "312";
  env.system = "Darwin";
  env.platform = "macosx-11.0-arm64";
  env.mac_version = std::pair{14, 2};
  env.mac_arch = "arm64";
  const auto platforms = platform_tags(env);
  ASSERT_EQ(platforms.size(), 2u * 4 + 13);  // 14_0..11_0 (arm64, universal2), 10_16..10_4 universal2
  EXPECT_EQ(platforms[0], "macosx_14_0_arm64");
  EXPECT_EQ(platforms[1], "macosx_14_0_universal2");
  EXPECT_EQ(platforms[8], "macosx_10_16_universal2");
  EXPECT_EQ(platforms.back(), "macosx_10_4_universal2");
}

TEST(Tags, GenericPlatformIsNormalized) {
  TagEnvironment env;
  env.implementation = "cpython";
  env.minor = 12;
  env.system = "FreeBSD";
  env.platform = "freebsd-14.0-RELEASE-amd64";
  EXPECT_EQ(platform_tags(env), std::vector<std::string>{"freebsd_14_0_RELEASE_amd64"});
  // Tags are lowercased like packaging's Tag.
  EXPECT_EQ(supported_tags(env).front().str(), "cp312-cp312-freebsd_14_0_release_amd64");
}

}  // namespace
}  // namespace strata::pep
