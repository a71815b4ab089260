#include "fetch/cache.hpp"

#include <chrono>
#include <fstream>

#include <gtest/gtest.h>

#include "support/tempdir.hpp"
#include "util/fs.hpp"

namespace strata::fetch {
namespace {

namespace fs = std::filesystem;
const std::string kHelloSha = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";  // "hello"

std::size_t count_files(const fs::path& dir) {
  std::size_t n = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       ++it)
    n += it->is_regular_file();
  return n;
}

TEST(Sha256, StreamingEqualsWhole) {
  Sha256 h;
  h.update("he");
  h.update("llo");
  EXPECT_EQ(h.hex_digest(), kHelloSha);
  EXPECT_TRUE(is_sha256_hex(kHelloSha));
  EXPECT_FALSE(is_sha256_hex("abc"));
}

TEST(Cache, EntryPathIsContentAddressed) {
  ArtifactCache cache("/c");
  EXPECT_EQ(cache.entry_path(kHelloSha, "a-1-py3-none-any.whl"),
            fs::path("/c/artifacts/sha256/2c") / kHelloSha / "a-1-py3-none-any.whl");
}

TEST(Cache, StagingFileIsRemovedUnlessCommitted) {
  strata::testing::TempDir dir;
  ArtifactCache cache(dir.path());
  fs::path staged;
  {
    auto file = StagingFile::create(cache.staging_dir());
    ASSERT_TRUE(file);
    staged = file->path();
    ASSERT_TRUE(file->write("bad bytes"));
    EXPECT_TRUE(fs::exists(staged));
  }
  EXPECT_FALSE(fs::exists(staged));
  EXPECT_EQ(count_files(dir.path()), 0u);
}

TEST(Cache, InsertIsAtomicAndAnExistingEntryIsAHit) {
  strata::testing::TempDir dir;
  ArtifactCache cache(dir.path());
  EXPECT_FALSE(cache.lookup(kHelloSha, "x.whl", std::nullopt));
  for (int round = 0; round < 2; ++round) {  // a second writer of the same entry is fine
    auto file = StagingFile::create(cache.staging_dir());
    ASSERT_TRUE(file);
    ASSERT_TRUE(file->write("hel"));
    ASSERT_TRUE(file->write("lo"));
    auto digest = file->finish();
    ASSERT_TRUE(digest);
    EXPECT_EQ(*digest, kHelloSha);
    auto placed = cache.insert(*file, *digest, "x.whl");
    ASSERT_TRUE(placed) << placed.error().message;
  }
  auto hit = cache.lookup(kHelloSha, "x.whl", 5);
  ASSERT_TRUE(hit);
  EXPECT_EQ(*util::read_file(*hit), "hello");
  EXPECT_FALSE(cache.lookup(kHelloSha, "x.whl", 6));  // wrong size: not a hit
  EXPECT_EQ(count_files(cache.staging_dir()), 0u);
  EXPECT_EQ(count_files(dir.path() / "artifacts"), 1u);
}

TEST(Cache, ResetEmptiesFileAndHash) {
  strata::testing::TempDir dir;
  auto file = StagingFile::create(dir.path());
  ASSERT_TRUE(file);
  ASSERT_TRUE(file->write("garbage"));
  ASSERT_TRUE(file->reset());
  ASSERT_TRUE(file->write("hello"));
  EXPECT_EQ(file->size(), 5u);
  EXPECT_EQ(*file->finish(), kHelloSha);
}

TEST(Cache, SweepRemovesOnlyOldStagingFiles) {
  strata::testing::TempDir dir;
  ArtifactCache cache(dir.path());
  fs::create_directories(cache.staging_dir());
  std::ofstream(cache.staging_dir() / ".strata-1-old.part") << "x";
  std::ofstream(cache.staging_dir() / ".strata-2-new.part") << "x";
  fs::last_write_time(cache.staging_dir() / ".strata-1-old.part",
                      fs::file_time_type::clock::now() - std::chrono::hours(48));
  cache.sweep_stale_staging();
  EXPECT_FALSE(fs::exists(cache.staging_dir() / ".strata-1-old.part"));
  EXPECT_TRUE(fs::exists(cache.staging_dir() / ".strata-2-new.part"));
}

TEST(Cache, CleanKeepsTheRootAndForeignFiles) {
  strata::testing::TempDir dir;
  fs::path root = dir.path() / "cache";
  ArtifactCache cache(root);
  ASSERT_TRUE(cache.ensure_root());
  fs::create_directories(root / "artifacts/sha256/2c");
  std::ofstream(root / "artifacts/sha256/2c/f") << "hello";
  auto stats = cache.clean();
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->files, 1u);
  EXPECT_EQ(stats->bytes, 5u);
  EXPECT_TRUE(fs::exists(root));
  EXPECT_FALSE(fs::exists(root / "artifacts"));

  // Without strata's tag only strata's own directories go.
  fs::path foreign = dir.path() / "foreign";
  fs::create_directories(foreign / "artifacts");
  std::ofstream(foreign / "keep.txt") << "mine";
  ASSERT_TRUE(ArtifactCache(foreign).clean());
  EXPECT_TRUE(fs::exists(foreign / "keep.txt"));
  EXPECT_FALSE(fs::exists(foreign / "artifacts"));
}

TEST(Cache, LinkOrCopyReplacesTarget) {
  strata::testing::TempDir dir;
  std::ofstream(dir.path() / "src") << "hello";
  std::ofstream(dir.path() / "dst") << "old";
  ASSERT_TRUE(link_or_copy(dir.path() / "src", dir.path() / "dst"));
  ASSERT_TRUE(link_or_copy(dir.path() / "src", dir.path() / "dst"));  // already the same file
  EXPECT_EQ(*util::read_file(dir.path() / "dst"), "hello");
  EXPECT_EQ(count_files(dir.path()), 2u);
}

}  // namespace
}  // namespace strata::fetch
