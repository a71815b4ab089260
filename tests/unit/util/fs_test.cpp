// Temporary directories that live processes hold, and the sweep of those killed processes left.

#include "util/fs.hpp"

#include <chrono>
#include <fstream>

#include <gtest/gtest.h>

#include "support/tempdir.hpp"

namespace strata::util {
namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

void age(const fs::path& path, std::chrono::seconds by) {
  fs::last_write_time(path, fs::file_time_type::clock::now() - by);
}

TEST(TempDirTest, IsHeldUntilDestroyedAndSurvivesARename) {
  testing::TempDir tmp;
  auto dir = TempDir::create(tmp.path() / "cache");
  ASSERT_TRUE(dir) << dir.error().message;
  EXPECT_TRUE(dir->path().filename().string().starts_with(".tmp-"));
  EXPECT_TRUE(fs::is_directory(dir->path()));
  EXPECT_TRUE(temp_dir_in_use(dir->path()));
  const fs::path placed = tmp.path() / "cache" / "placed";
  fs::rename(dir->path(), placed);
  EXPECT_TRUE(temp_dir_in_use(placed));
  TempDir moved = std::move(*dir);
  EXPECT_TRUE(temp_dir_in_use(placed));
  { TempDir gone = std::move(moved); }
  EXPECT_FALSE(temp_dir_in_use(placed));
  EXPECT_TRUE(fs::is_directory(placed));  // destroying does not remove
}

TEST(TempDirTest, SweepRemovesOnlyOldDirectoriesNoProcessHolds) {
  testing::TempDir tmp;
  const fs::path cache = tmp.path() / "unpacked";
  // What a kill -9 leaves: an unlocked tree, with a read-only directory inside.
  const fs::path stale = cache / ".tmp-4242-deadbeef";
  fs::create_directories(stale / "tree" / "pkg");
  std::ofstream(stale / "tree" / "pkg" / "mod.py") << "x = 1\n";
  fs::permissions(stale / "tree" / "pkg", fs::perms::owner_read | fs::perms::owner_exec);
  age(stale, 2h);
  auto live = TempDir::create(cache);  // another process unpacking right now
  ASSERT_TRUE(live);
  age(live->path(), 2h);
  const fs::path young = cache / ".tmp-4243-cafef00d";  // just made, its lock not taken yet
  fs::create_directories(young);
  const fs::path other = cache / "0123abcd";  // a finished entry
  fs::create_directories(other);
  age(other, 2h);

  EXPECT_EQ(remove_stale_temp_dirs(cache, ".tmp-"), 1u);
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_TRUE(fs::is_directory(live->path()));
  EXPECT_TRUE(fs::is_directory(young));
  EXPECT_TRUE(fs::is_directory(other));
  EXPECT_EQ(remove_stale_temp_dirs(tmp.path() / "missing", ".tmp-"), 0u);
}

}  // namespace
}  // namespace strata::util
