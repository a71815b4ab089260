#include "oci/layer.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include <memory>

#include "fetch/hash.hpp"
#include "support/tempdir.hpp"
#include "util/fs.hpp"

namespace strata::oci {
namespace {
namespace fs = std::filesystem;

LayerEntry file(std::string path, std::string content, bool executable = false) {
  LayerEntry e;
  e.path = std::move(path);
  e.content = std::move(content);
  e.executable = executable;
  return e;
}

std::string gunzip(const std::string& in) {
  z_stream z{};
  inflateInit2(&z, 15 + 16);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  std::string out;
  char buffer[4096];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    z.next_out = reinterpret_cast<Bytef*>(buffer);
    z.avail_out = sizeof buffer;
    rc = inflate(&z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) break;
    out.append(buffer, sizeof buffer - z.avail_out);
  }
  inflateEnd(&z);
  return out;
}

struct Member {
  std::string path;
  int type;
  unsigned perm;
  la_int64_t uid, gid;
  std::string uname, gname;
  time_t mtime;
  std::string data;
};

std::vector<Member> members(const std::string& tar) {
  std::unique_ptr<archive, int (*)(archive*)> a(archive_read_new(), archive_read_free);
  archive_read_support_format_tar(a.get());
  EXPECT_EQ(archive_read_open_memory(a.get(), tar.data(), tar.size()), ARCHIVE_OK);
  std::vector<Member> out;
  archive_entry* e = nullptr;
  while (archive_read_next_header(a.get(), &e) == ARCHIVE_OK) {
    Member m{archive_entry_pathname(e),
             static_cast<int>(archive_entry_filetype(e)),
             static_cast<unsigned>(archive_entry_perm(e)),
             archive_entry_uid(e),
             archive_entry_gid(e),
             archive_entry_uname(e) ? archive_entry_uname(e) : "",
             archive_entry_gname(e) ? archive_entry_gname(e) : "",
             archive_entry_mtime(e),
             ""};
    char buffer[4096];
    la_ssize_t n = 0;
    while ((n = archive_read_data(a.get(), buffer, sizeof buffer)) > 0)
      m.data.append(buffer, static_cast<std::size_t>(n));
    out.push_back(std::move(m));
  }
  return out;
}

TEST(OciLayer, NormalizeAddsParentsFirstAndSorts) {
  std::vector<LayerEntry> in = {file("opt/venv/lib/b.py", "b"), file("opt/venv/bin/x", "x", true),
                                file("opt/venv-other", "o")};
  auto out = normalize_entries(in);
  ASSERT_TRUE(out) << out.error().message;
  std::vector<std::string> paths;
  for (const auto& e : *out) paths.push_back(e.path);
  // '/' sorts below every other byte: a directory's subtree follows it directly.
  EXPECT_EQ(paths, (std::vector<std::string>{"opt", "opt/venv", "opt/venv/bin", "opt/venv/bin/x",
                                             "opt/venv/lib", "opt/venv/lib/b.py", "opt/venv-other"}));
}

TEST(OciLayer, NormalizeRefusesDuplicatesAndEscapes) {
  EXPECT_FALSE(normalize_entries({file("a", "1"), file("a", "2")}));
  EXPECT_FALSE(normalize_entries({file("../etc/passwd", "x")}));
  EXPECT_FALSE(normalize_entries({file("/abs", "x")}));
  EXPECT_FALSE(normalize_entries({file("a/./b", "x")}));
  auto below_file = normalize_entries({file("a", "1"), file("a/b", "2")});
  ASSERT_FALSE(below_file);
  EXPECT_NE(below_file.error().message.find("not a directory"), std::string::npos);
}

TEST(OciLayer, WritesADeterministicGzipTar) {
  testing::TempDir tmp;
  auto layout = Layout::create(tmp.path() / "out");
  ASSERT_TRUE(layout);
  LayerEntry link;
  link.path = "opt/venv/bin/python";
  link.type = LayerEntry::Type::symlink;
  link.link = "/usr/bin/python3.11";
  const std::vector<LayerEntry> entries = {file("opt/venv/bin/tool", "#!/bin/sh\n", true), link,
                                           file("opt/venv/lib/a.py", "print(1)\n")};
  auto first = write_layer(entries, {.mtime = 1700000000, .compression = Compression::gzip, .diffid_dir = {}},
                           *layout);
  ASSERT_TRUE(first) << first.error().message;
  auto second = write_layer(
      entries, {.mtime = 1700000000, .compression = Compression::gzip, .diffid_dir = {}}, *layout);
  ASSERT_TRUE(second);
  EXPECT_EQ(first->descriptor.digest, second->descriptor.digest);
  EXPECT_EQ(first->diff_id, second->diff_id);
  EXPECT_EQ(first->descriptor.media_type, kOciLayerGzip);

  auto blob = util::read_file(layout->blob_path(first->descriptor.digest));
  ASSERT_TRUE(blob);
  EXPECT_EQ(blob->size(), first->descriptor.size);
  EXPECT_EQ(sha256_digest(*blob), first->descriptor.digest);
  // The gzip header: magic, deflate, no flags (no name), mtime 0.
  ASSERT_GE(blob->size(), 10u);
  EXPECT_EQ(blob->substr(0, 8), std::string("\x1f\x8b\x08\x00\x00\x00\x00\x00", 8));
  const std::string tar = gunzip(*blob);
  EXPECT_EQ(sha256_digest(tar), first->diff_id);
  // No PAX header is needed for these names.
  EXPECT_EQ(tar.find("PaxHeader"), std::string::npos);

  auto m = members(tar);
  ASSERT_EQ(m.size(), 7u);
  std::vector<std::string> paths;
  for (const auto& x : m) {
    paths.push_back(x.path);
    EXPECT_EQ(x.uid, 0);
    EXPECT_EQ(x.gid, 0);
    EXPECT_EQ(x.uname, "");
    EXPECT_EQ(x.gname, "");
    EXPECT_EQ(x.mtime, 1700000000);
  }
  EXPECT_EQ(paths, (std::vector<std::string>{"opt/", "opt/venv/", "opt/venv/bin/", "opt/venv/bin/python",
                                             "opt/venv/bin/tool", "opt/venv/lib/", "opt/venv/lib/a.py"}));
  EXPECT_EQ(m[0].perm, 0755u);
  EXPECT_EQ(m[3].type, AE_IFLNK);
  EXPECT_EQ(m[4].perm, 0755u);
  EXPECT_EQ(m[4].data, "#!/bin/sh\n");
  EXPECT_EQ(m[6].perm, 0644u);
}

TEST(OciLayer, LongNamesGetPaxOnlyThen) {
  testing::TempDir tmp;
  auto layout = Layout::create(tmp.path() / "out");
  ASSERT_TRUE(layout);
  const std::string name = "opt/" + std::string(180, 'x') + ".py";
  auto layer = write_layer({file(name, "x")}, {}, *layout);
  ASSERT_TRUE(layer) << layer.error().message;
  auto m = members(gunzip(*util::read_file(layout->blob_path(layer->descriptor.digest))));
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[1].path, name);
}

TEST(OciLayer, ZstdAndContentFromFiles) {
  testing::TempDir tmp;
  auto layout = Layout::create(tmp.path() / "out");
  ASSERT_TRUE(layout);
  ASSERT_TRUE(util::write_file_atomic(tmp.path() / "src.bin", std::string(100000, 'a')));
  LayerEntry e;
  e.path = "data/src.bin";
  e.source = tmp.path() / "src.bin";
  auto layer = write_layer({e}, {.mtime = 0, .compression = Compression::zstd, .diffid_dir = {}}, *layout);
  ASSERT_TRUE(layer) << layer.error().message;
  EXPECT_EQ(layer->descriptor.media_type, kOciLayerZstd);
  auto blob = util::read_file(layout->blob_path(layer->descriptor.digest));
  ASSERT_TRUE(blob);
  EXPECT_EQ(blob->substr(0, 4), std::string("\x28\xb5\x2f\xfd", 4));
  EXPECT_LT(blob->size(), 1000u);
}

TEST(OciLayer, DiffIdMapKeepsTheFirstBlobOfAContent) {
  testing::TempDir tmp;
  auto layout = Layout::create(tmp.path() / "out");
  ASSERT_TRUE(layout);
  const fs::path map = tmp.path() / "cache";
  LayerOptions options{.mtime = 0, .compression = Compression::gzip, .diffid_dir = map};
  auto first = write_layer({file("a", "1")}, options, *layout);
  ASSERT_TRUE(first);
  EXPECT_FALSE(first->reused);
  // As if an older compressor had made another blob of the same tar: that one is kept.
  const std::string older = "older blob bytes";
  const std::string older_digest = sha256_digest(older);
  ASSERT_TRUE(util::write_file_atomic(map / "blobs" / "sha256" / older_digest.substr(7), older));
  nlohmann::json entry = {{"digest", older_digest}, {"size", older.size()}};
  ASSERT_TRUE(util::write_file_atomic(map / (first->diff_id.substr(7) + ".gzip"), entry.dump()));
  auto second = write_layer({file("a", "1")}, options, *layout);
  ASSERT_TRUE(second);
  EXPECT_TRUE(second->reused);
  EXPECT_EQ(second->diff_id, first->diff_id);
  EXPECT_EQ(second->descriptor.digest, older_digest);
  EXPECT_TRUE(layout->has_blob(older_digest));
}

TEST(OciLayer, SourceDateEpoch) {
  ::setenv("SOURCE_DATE_EPOCH", "1234", 1);
  EXPECT_EQ(source_date_epoch().value_or(-1), 1234);
  ::setenv("SOURCE_DATE_EPOCH", "soon", 1);
  EXPECT_FALSE(source_date_epoch());
  ::unsetenv("SOURCE_DATE_EPOCH");
  EXPECT_EQ(source_date_epoch().value_or(-1), 0);
}

}  // namespace
}  // namespace strata::oci
