#include "wheel/unpack.hpp"

#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <vector>

#include <gtest/gtest.h>

#include "support/tempdir.hpp"
#include "unit/wheel/test_wheel.hpp"
#include "util/fs.hpp"
#include "wheel/install.hpp"

namespace strata::wheel {
namespace {
namespace fs = std::filesystem;
using testing::TestWheel;

const std::string kSha(64, 'a');

TestWheel sample() {
  TestWheel w;
  w.files = {{"demo/__init__.py", "VALUE = 1\n"},
             {"demo/run.sh", "#!/bin/sh\n", 0755},
             {"demo-1.0.data/scripts/tool", "#!python\nprint(1)\n"}};
  return w;
}

nlink_t links(const fs::path& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 ? st.st_nlink : 0;
}

TEST(Unpack, ExtractsOnceAtomically) {
  testing::TempDir tmp;
  auto wheel = sample().write(tmp.path());
  const fs::path cache = tmp.path() / "unpacked";
  auto first = unpack_to_cache(wheel, kSha, cache, {});
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->dir, cache / kSha);
  ASSERT_EQ(first->entries.size(), 6u);  // 3 files + METADATA, WHEEL, RECORD
  EXPECT_EQ(first->entries[0].path, "demo/__init__.py");
  EXPECT_EQ(first->entries[0].hash, TestWheel::hash("VALUE = 1\n"));
  EXPECT_TRUE(first->entries[1].executable);
  EXPECT_EQ(*util::read_file(first->tree / "demo/__init__.py"), "VALUE = 1\n");
  // Only the final directory remains: no temporary left behind.
  EXPECT_EQ(std::distance(fs::directory_iterator(cache), fs::directory_iterator()), 1);

  // A second call reads the manifest instead of extracting (the wheel is gone).
  fs::remove(wheel);
  auto second = unpack_to_cache(wheel, kSha, cache, {});
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ(second->entries.size(), first->entries.size());
  EXPECT_EQ(second->entries[2].hash, first->entries[2].hash);
}

TEST(Unpack, AFileChangedInTheTreeBreaksTheSealAndTheTreeIsUnpackedAgain) {
  testing::TempDir tmp;
  auto wheel = sample().write(tmp.path());
  const fs::path cache = tmp.path() / "unpacked";
  auto first = unpack_to_cache(wheel, kSha, cache, {});
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_TRUE(check_seal(*first));
  const fs::path file = first->tree / "demo/__init__.py";

  // The same size, other bytes, mode restored: only the mtime tells.
  fs::permissions(file, fs::perms::owner_write, fs::perm_options::add);
  std::ofstream(file, std::ios::in | std::ios::out) << "VALUE = 2\n";  // in place, as a hard link would
  fs::permissions(file, fs::perms::owner_write, fs::perm_options::remove);
  auto broken = check_seal(*first);
  ASSERT_FALSE(broken);
  EXPECT_NE(broken.error().message.find("demo/__init__.py: modified after it was unpacked"),
            std::string::npos)
      << broken.error().message;
  auto again = unpack_to_cache(wheel, kSha, cache, {});
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(*util::read_file(again->tree / "demo/__init__.py"), "VALUE = 1\n");
  EXPECT_TRUE(check_seal(*again));

  // Made writable (as through an environment's hard link): refused as well.
  fs::permissions(again->tree / "demo/run.sh", fs::perms::owner_write, fs::perm_options::add);
  broken = check_seal(*again);
  ASSERT_FALSE(broken);
  EXPECT_NE(broken.error().message.find("made writable"), std::string::npos) << broken.error().message;

  // A broken tree is never used again: without the wheel, there is nothing to unpack from.
  fs::remove(wheel);
  EXPECT_FALSE(unpack_to_cache(wheel, kSha, cache, {}));
  EXPECT_FALSE(fs::exists(cache / kSha));
  EXPECT_TRUE(fs::is_empty(cache));
}

TEST(Unpack, DiscardRemovesTheTree) {
  testing::TempDir tmp;
  auto wheel = sample().write(tmp.path());
  auto unpacked = unpack_to_cache(wheel, kSha, tmp.path() / "unpacked", {});
  ASSERT_TRUE(unpacked) << unpacked.error().message;
  discard_unpacked(unpacked->dir);
  EXPECT_TRUE(fs::is_empty(tmp.path() / "unpacked"));
  discard_unpacked(unpacked->dir);  // gone already: no error
}

TEST(Unpack, SweepRemovesOldUnheldTemporariesBesideEntriesAndInTheirPycDirectories) {
  testing::TempDir tmp;
  const fs::path cache = tmp.path() / "unpacked";
  auto unpacked = unpack_to_cache(sample().write(tmp.path()), kSha, cache, {});
  ASSERT_TRUE(unpacked) << unpacked.error().message;
  const auto old = fs::file_time_type::clock::now() - std::chrono::hours(2);
  std::vector<fs::path> killed;  // what kill -9 leaves: an unpack, a compile, a discard
  for (const fs::path& p :
       {cache / ".tmp-1-aa", unpacked->dir / "pyc" / ".tmp-2-bb", cache / ".broken-3-cc"}) {
    fs::create_directories(p / "x");
    fs::last_write_time(p, old);
    killed.push_back(p);
  }
  auto live = util::TempDir::create(unpacked->dir / "pyc");  // another process compiling now
  ASSERT_TRUE(live);
  fs::last_write_time(live->path(), old);
  EXPECT_EQ(sweep_unpack_cache(cache), 3u);
  for (const auto& p : killed) EXPECT_FALSE(fs::exists(p)) << p;
  EXPECT_TRUE(fs::is_directory(live->path()));
  EXPECT_TRUE(fs::exists(unpacked->tree / "demo/__init__.py"));
}

TEST(Unpack, RefusesHostileWheelsAndLeavesNothing) {
  testing::TempDir tmp;
  TestWheel w;
  w.files = {{"../evil.py", "x"}};
  auto wheel = w.write(tmp.path());
  auto result = unpack_to_cache(wheel, kSha, tmp.path() / "unpacked", {});
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().message.find("escapes the target"), std::string::npos);
  EXPECT_TRUE(fs::is_empty(tmp.path() / "unpacked"));
  EXPECT_FALSE(unpack_to_cache(wheel, "not-a-hash", tmp.path() / "unpacked", {}));
}

TEST(Unpack, ParsesLinkModes) {
  EXPECT_EQ(parse_link_mode("auto"), LinkMode::automatic);
  EXPECT_EQ(parse_link_mode("hardlink"), LinkMode::hardlink);
  EXPECT_EQ(to_string(LinkMode::reflink), "reflink");
  auto bad = parse_link_mode("symlink");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().kind, ErrorKind::usage);
}

// Installing from the unpacked tree gives the same environment as installing from the archive.
TEST(Unpack, InstallFromTreeMatchesArchiveInstall) {
  for (LinkMode mode : {LinkMode::copy, LinkMode::hardlink, LinkMode::automatic}) {
    SCOPED_TRACE(std::string(to_string(mode)));
    testing::TempDir tmp;
    auto wheel = sample().write(tmp.path());
    auto make_target = [&](const fs::path& root) {
      InstallTarget t;
      t.scheme = {root / "site", root / "site", root / "bin", root, root / "include"};
      t.python = "/opt/strata-test/bin/python";
      t.state_dir = root / ".strata";
      return t;
    };
    WheelInstallOptions from_archive;
    from_archive.compile = false;
    ASSERT_TRUE(install_wheel(wheel, make_target(tmp.path() / "a"), from_archive));

    auto unpacked = unpack_to_cache(wheel, kSha, tmp.path() / "cache", {});
    ASSERT_TRUE(unpacked) << unpacked.error().message;
    WheelInstallOptions from_tree = from_archive;
    from_tree.unpacked = *unpacked;
    from_tree.link_mode = mode;
    auto installed = install_wheel(wheel, make_target(tmp.path() / "b"), from_tree);
    ASSERT_TRUE(installed) << installed.error().message;

    for (const char* rel : {"site/demo/__init__.py", "site/demo/run.sh", "bin/tool",
                            "site/demo-1.0.dist-info/RECORD", "site/demo-1.0.dist-info/METADATA"})
      EXPECT_EQ(*util::read_file(tmp.path() / "a" / rel), *util::read_file(tmp.path() / "b" / rel)) << rel;
    EXPECT_EQ(fs::status(tmp.path() / "b/site/demo/run.sh").permissions() & fs::perms::owner_exec,
              fs::perms::owner_exec);
    if (mode == LinkMode::copy) {
      EXPECT_EQ(links(tmp.path() / "b/site/demo/__init__.py"), 1u);
      EXPECT_EQ(installed->link_mode, LinkMode::copy);
    }
    if (mode == LinkMode::hardlink) {
      EXPECT_EQ(links(tmp.path() / "b/site/demo/__init__.py"), 2u);
      EXPECT_EQ(installed->link_mode, LinkMode::hardlink);
    }
    // The script was rewritten into a fresh file: the cached copy still says #!python.
    EXPECT_EQ(*util::read_file(unpacked->tree / "demo-1.0.data/scripts/tool"), "#!python\nprint(1)\n");
    EXPECT_EQ(links(tmp.path() / "b/bin/tool"), 1u);
  }
}

TEST(Unpack, HardlinkAcrossFilesystemsFailsButAutoFallsBack) {
  testing::TempDir tmp;
  const fs::path src = tmp.path() / "src.txt";
  ASSERT_TRUE(util::write_file_atomic(src, "content"));
  // /dev/shm is a tmpfs: another filesystem than the temp dir's in the usual setups.
  const fs::path other = fs::path("/dev/shm") / ("strata-link-test-" + std::to_string(::getpid()));
  struct stat a {
  }, b{};
  if (::stat(tmp.path().c_str(), &a) != 0 || ::stat("/dev/shm", &b) != 0 || a.st_dev == b.st_dev)
    GTEST_SKIP() << "no second filesystem to link across";
  fs::remove(other);
  auto hard = link_file(src, other, LinkMode::hardlink);
  ASSERT_FALSE(hard);
  EXPECT_NE(hard.error().message.find("cannot hardlink"), std::string::npos) << hard.error().message;
  auto automatic = link_file(src, other, LinkMode::automatic);
  ASSERT_TRUE(automatic) << automatic.error().message;
  EXPECT_EQ(*automatic, LinkMode::copy);
  EXPECT_EQ(*util::read_file(other), "content");
  fs::remove(other);
}

}  // namespace
}  // namespace strata::wheel
