#include "wheel/archive.hpp"

#include <gtest/gtest.h>

#include "support/tempdir.hpp"
#include "util/fs.hpp"

namespace strata::wheel {
namespace {

using Kind = ZipMember::Kind;

// Reads every entry (and its data) and returns the first error message, or "" when all is read.
std::string read_all(const std::filesystem::path& zip, const ArchiveLimits& limits = {}) {
  auto reader = ArchiveReader::open(zip, limits);
  if (!reader) return reader.error().message;
  while (true) {
    auto entry = reader->next();
    if (!entry) return entry.error().message;
    if (!*entry) return "";
    auto ok = reader->read([](std::string_view) -> Result<void> { return {}; });
    if (!ok) return ok.error().message;
  }
}

std::string read_members(const std::vector<ZipMember>& members, const ArchiveLimits& limits = {}) {
  testing::TempDir tmp;
  auto path = tmp.path() / "t-1.0-py3-none-any.whl";
  auto ok = write_zip(path, members);
  EXPECT_TRUE(ok) << (ok ? "" : ok.error().message);
  return read_all(path, limits);
}

TEST(CheckMemberPath, NormalizesAndRefuses) {
  std::string n;
  EXPECT_EQ(check_member_path("a/./b/c.py", n), std::nullopt);
  EXPECT_EQ(n, "a/b/c.py");
  EXPECT_EQ(check_member_path("pkg/", n), std::nullopt);
  EXPECT_EQ(n, "pkg");
  EXPECT_NE(check_member_path("../evil", n), std::nullopt);
  EXPECT_NE(check_member_path("a/../../evil", n), std::nullopt);
  EXPECT_NE(check_member_path("/etc/passwd", n), std::nullopt);
  EXPECT_NE(check_member_path("a\\..\\b", n), std::nullopt);
  EXPECT_NE(check_member_path("a//b", n), std::nullopt);
  EXPECT_NE(check_member_path("C:/x", n), std::nullopt);
  EXPECT_NE(check_member_path("", n), std::nullopt);
  EXPECT_NE(check_member_path(std::string_view("a\0b", 3), n), std::nullopt);
}

TEST(ArchiveReader, ReadsEntriesWithExecutableBits) {
  testing::TempDir tmp;
  auto path = tmp.path() / "t.whl";
  ASSERT_TRUE(write_zip(path, {{"pkg/", "", 0755, Kind::directory},
                               {"pkg/a.py", "print(1)\n", 0644},
                               {"pkg/run.sh", "#!/bin/sh\n", 0755}}));
  auto reader = ArchiveReader::open(path, {});
  ASSERT_TRUE(reader);
  std::vector<ArchiveEntry> entries;
  std::string data;
  while (true) {
    auto e = reader->next();
    ASSERT_TRUE(e) << e.error().message;
    if (!*e) break;
    entries.push_back(**e);
    ASSERT_TRUE(reader->read([&](std::string_view chunk) -> Result<void> {
      data += chunk;
      return {};
    }));
  }
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_TRUE(entries[0].directory);
  EXPECT_EQ(entries[0].path, "pkg");
  EXPECT_EQ(entries[1].path, "pkg/a.py");
  EXPECT_FALSE(entries[1].executable);
  EXPECT_TRUE(entries[2].executable);
  EXPECT_EQ(data, "print(1)\n#!/bin/sh\n");
}

TEST(ArchiveReader, RefusesHostileEntries) {
  auto expect_refused = [](std::vector<ZipMember> members, std::string_view why) {
    std::string message = read_members(members);
    EXPECT_NE(message.find("t-1.0-py3-none-any.whl"), std::string::npos) << message;
    EXPECT_NE(message.find(why), std::string::npos) << message;
  };
  expect_refused({{"../evil.py", "x"}}, "\"../evil.py\"");
  expect_refused({{"/abs.py", "x"}}, "absolute");
  // libarchive's writer turns backslashes into '/', so this arrives as "a/../../b.py".
  expect_refused({{"a\\..\\..\\b.py", "x"}}, "escapes the target");
  expect_refused({{"link", "/etc/passwd", 0777, Kind::symlink}}, "symbolic link");
  expect_refused({{"a.py", "x"}, {"a.py", "y"}}, "duplicate entry");
  expect_refused({{"a", "x"}, {"a/b.py", "y"}}, "is a file");
}

TEST(ArchiveReader, RefusesOversizedEntriesAndTotals) {
  std::string big(100000, 'a');
  ArchiveLimits per_entry;
  per_entry.max_entry_size = 50000;
  std::string message = read_members({{"big.bin", big}}, per_entry);
  EXPECT_NE(message.find("per-entry limit of 50000 bytes"), std::string::npos) << message;
  EXPECT_NE(message.find("big.bin"), std::string::npos) << message;

  ArchiveLimits total;
  total.max_total_size = 150000;
  message = read_members({{"a.bin", big}, {"b.bin", big}}, total);
  EXPECT_NE(message.find("total limit of 150000 bytes"), std::string::npos) << message;
  EXPECT_NE(message.find("b.bin"), std::string::npos) << message;

  EXPECT_EQ(read_members({{"a.bin", big}, {"b.bin", big}}), "");
}

TEST(ArchiveReader, NotAZip) {
  testing::TempDir tmp;
  auto path = tmp.path() / "bad.whl";
  ASSERT_TRUE(util::write_file_atomic(path, "this is not a zip file"));
  std::string message = read_all(path);
  EXPECT_NE(message.find("bad.whl"), std::string::npos) << message;
}

}  // namespace
}  // namespace strata::wheel
