#include "wheel/archive.hpp"

#include <cstdlib>
#include <tuple>

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
  // The name is stored with its backslashes (libarchive's reader turned them into '/', so this
  // arrived as "a/../../b.py"); the wheel reader sees them as they are.
  expect_refused({{"a\\..\\..\\b.py", "x"}}, "path contains a backslash");
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

// Rewrites the uncompressed size the central directory declares for `name` (and the local header's,
// when it holds one): a zip whose entry lies about its size.
void declare_size(const std::filesystem::path& zip, std::string_view name, std::uint32_t declared) {
  std::string bytes = *util::read_file(zip);
  auto u16 = [&](std::size_t at) {
    return static_cast<std::size_t>(static_cast<unsigned char>(bytes[at])) |
           static_cast<std::size_t>(static_cast<unsigned char>(bytes[at + 1])) << 8;
  };
  auto put32 = [&](std::size_t at, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) bytes[at + static_cast<std::size_t>(i)] = static_cast<char>(v >> (8 * i));
  };
  int patched = 0;
  for (auto [sig, header, name_len_at, size_at] :
       {std::tuple{std::string_view("PK\x03\x04", 4), 30u, 26u, 22u},
        std::tuple{std::string_view("PK\x01\x02", 4), 46u, 28u, 24u}}) {
    for (std::size_t i = bytes.find(sig); i != std::string::npos; i = bytes.find(sig, i + 4)) {
      if (std::string_view(bytes).substr(i + header, u16(i + name_len_at)) != name) continue;
      bool central = header == 46u;
      if (central || bytes.substr(i + size_at, 4) != std::string(4, '\0')) put32(i + size_at, declared);
      patched += central ? 1 : 0;
    }
  }
  ASSERT_EQ(patched, 1) << "no central directory entry for " << name;
  ASSERT_TRUE(util::write_file_atomic(zip, bytes));
}

TEST(ArchiveReader, StopsAnEntryAtItsDeclaredSize) {
  testing::TempDir tmp;
  auto path = tmp.path() / "t-1.0-py3-none-any.whl";
  ASSERT_TRUE(write_zip(path, {{"ok.txt", "hello"}, {"big.txt", std::string(8 << 20, 'a')}}));
  declare_size(path, "big.txt", 1000);
  auto reader = ArchiveReader::open(path, {});
  ASSERT_TRUE(reader) << reader.error().message;
  std::uint64_t received = 0;
  std::string message;
  while (message.empty()) {
    auto e = reader->next();
    ASSERT_TRUE(e) << e.error().message;
    ASSERT_TRUE(*e) << "the lying entry was read to the end";
    auto ok = reader->read([&](std::string_view chunk) -> Result<void> {
      received += chunk.size();
      return {};
    });
    if (!ok) message = ok.error().message;
  }
  EXPECT_NE(message.find("\"big.txt\": it inflates beyond its declared size of 1000 bytes"),
            std::string::npos)
      << message;
  EXPECT_LE(received, 5u + 1000u);  // nothing beyond the declared size reached the sink

  // Shorter than declared is refused too.
  ASSERT_TRUE(write_zip(path, {{"small.txt", std::string(5000, 'b')}}));
  declare_size(path, "small.txt", 6000);
  message = read_all(path);
  EXPECT_NE(message.find("inflates to 5000 bytes, not its declared 6000"), std::string::npos) << message;
}

// Overwrites 4 bytes at `offset` from the start of `name`'s central directory record.
void patch_central(const std::filesystem::path& zip, std::string_view name, std::size_t offset,
                   std::uint32_t value) {
  std::string bytes = *util::read_file(zip);
  const std::string_view sig("PK\x01\x02", 4);
  for (std::size_t i = bytes.find(sig); i != std::string::npos; i = bytes.find(sig, i + 4)) {
    const auto name_len = static_cast<std::size_t>(static_cast<unsigned char>(bytes[i + 28])) |
                          static_cast<std::size_t>(static_cast<unsigned char>(bytes[i + 29])) << 8;
    if (std::string_view(bytes).substr(i + 46, name_len) != name) continue;
    for (std::size_t k = 0; k < 4; ++k) bytes[i + offset + k] = static_cast<char>(value >> (8 * k));
    ASSERT_TRUE(util::write_file_atomic(zip, bytes));
    return;
  }
  FAIL() << "no central directory entry for " << name;
}

TEST(ArchiveReader, RefusesAnEntryWhoseCrcDiffers) {
  testing::TempDir tmp;
  auto path = tmp.path() / "t-1.0-py3-none-any.whl";
  for (std::size_t size : {std::size_t{9}, std::size_t{20} << 20}) {  // inflated whole, and streamed
    ASSERT_TRUE(write_zip(path, {{"a.py", std::string(size, 'p')}}));
    EXPECT_EQ(read_all(path), "");
    patch_central(path, "a.py", 16, 0x12345678);
    std::string message = read_all(path);
    EXPECT_NE(message.find("t-1.0-py3-none-any.whl: cannot read entry \"a.py\": CRC-32"), std::string::npos)
        << message;
  }
}

TEST(ArchiveReader, StopsAStreamedEntryAtItsDeclaredSize) {
  // Beyond the size inflated in one piece: streamed, and still stopped at the declared size.
  testing::TempDir tmp;
  auto path = tmp.path() / "t-1.0-py3-none-any.whl";
  ASSERT_TRUE(write_zip(path, {{"big.bin", std::string(40 << 20, 'z')}}));
  declare_size(path, "big.bin", 20 << 20);
  auto reader = ArchiveReader::open(path, {});
  ASSERT_TRUE(reader) << reader.error().message;
  ASSERT_TRUE(*reader->next());
  std::uint64_t received = 0;
  auto ok = reader->read([&](std::string_view chunk) -> Result<void> {
    received += chunk.size();
    return {};
  });
  ASSERT_FALSE(ok);
  EXPECT_NE(ok.error().message.find("inflates beyond its declared size of 20971520 bytes"), std::string::npos)
      << ok.error().message;
  EXPECT_LE(received, 20u << 20);
}

TEST(ArchiveReader, RefusesDataOutsideTheArchive) {
  testing::TempDir tmp;
  auto path = tmp.path() / "t-1.0-py3-none-any.whl";
  ASSERT_TRUE(write_zip(path, {{"a.py", "print(1)\n"}}));
  patch_central(path, "a.py", 42, 0x7fffff00);  // the local header's offset
  std::string message = read_all(path);
  EXPECT_NE(message.find("cannot read entry \"a.py\": no local file header"), std::string::npos) << message;
}

TEST(ArchiveReader, RefusesAnArchiveWithoutItsEndOfCentralDirectory) {
  testing::TempDir tmp;
  auto path = tmp.path() / "t-1.0-py3-none-any.whl";
  ASSERT_TRUE(write_zip(path, {{"a.py", "print(1)\n"}, {"b.py", "print(2)\n"}}));
  EXPECT_EQ(read_all(path), "");
  std::string bytes = *util::read_file(path);
  ASSERT_TRUE(util::write_file_atomic(path, bytes.substr(0, bytes.size() - 22)));  // the EOCD record
  std::string message = read_all(path);
  EXPECT_NE(message.find("t-1.0-py3-none-any.whl: cannot open as a zip archive"), std::string::npos)
      << message;
}

TEST(ArchiveReader, BoundsTheRatioOfUnpackedToArchiveSize) {
  ArchiveLimits limits;
  limits.ratio_floor = 1 << 20;  // 4 MiB of zeros deflate to a few KiB: far beyond 50 times
  std::string message = read_members({{"a.txt", "x"}, {"zeros.bin", std::string(4 << 20, '\0')}}, limits);
  EXPECT_NE(message.find("\"zeros.bin\""), std::string::npos) << message;
  EXPECT_NE(message.find("50 times the archive's size"), std::string::npos) << message;
  EXPECT_NE(message.find("STRATA_MAX_UNPACK_RATIO"), std::string::npos) << message;

  // Refused on the declared sizes: nothing was inflated. With lying sizes, while inflating.
  testing::TempDir tmp;
  auto path = tmp.path() / "t-1.0-py3-none-any.whl";
  ASSERT_TRUE(write_zip(path, {{"zeros.bin", std::string(4 << 20, '\0')}}));
  declare_size(path, "zeros.bin", 0x7fffffff);
  limits.max_entry_size = 0x7fffffff;
  limits.max_total_size = 0x7fffffff;
  limits.max_ratio = 0;  // the declared 2 GiB pass without a ratio bound
  message = read_all(path, limits);
  EXPECT_NE(message.find("inflates to 4194304 bytes"), std::string::npos) << message;
  limits.max_ratio = 50;
  message = read_all(path, limits);
  EXPECT_NE(message.find("declares more than"), std::string::npos) << message;

  // The default bound lets through what real wheels do, and small archives of any ratio.
  EXPECT_EQ(read_members({{"zeros.bin", std::string(4 << 20, '\0')}}), "");
}

TEST(ArchiveLimits, RatioFromTheEnvironment) {
  ::setenv("STRATA_MAX_UNPACK_RATIO", "7", 1);
  auto limits = archive_limits_from_env();
  ASSERT_TRUE(limits);
  EXPECT_EQ(limits->max_ratio, 7u);
  ::setenv("STRATA_MAX_UNPACK_RATIO", "lots", 1);
  limits = archive_limits_from_env();
  ASSERT_FALSE(limits);
  EXPECT_EQ(limits.error().kind, ErrorKind::usage);
  EXPECT_NE(limits.error().message.find("STRATA_MAX_UNPACK_RATIO"), std::string::npos);
  ::unsetenv("STRATA_MAX_UNPACK_RATIO");
  EXPECT_EQ(archive_limits_from_env()->max_ratio, ArchiveLimits{}.max_ratio);
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
