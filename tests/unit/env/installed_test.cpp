#include "env/installed.hpp"

#include <fstream>

#include <gtest/gtest.h>

#include "support/tempdir.hpp"

namespace strata::env {
namespace {
namespace fs = std::filesystem;

void write(const fs::path& path, std::string_view content) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out << content;
}

void make_dist_info(const fs::path& site, std::string_view dir_name, std::string_view metadata,
                    std::string_view installer = "pip\n") {
  fs::path dir = site / dir_name;
  write(dir / "METADATA", metadata);
  if (!installer.empty()) write(dir / "INSTALLER", installer);
  write(dir / "RECORD", std::string(dir_name) + "/METADATA,,\n");
}

TEST(MetadataHeaders, UnfoldsContinuationLinesAndStopsAtTheBody) {
  auto headers = MetadataHeaders::parse(
      "Metadata-Version: 2.1\r\n"
      "Name: Foo.Bar\r\n"
      "Version:   1.0\r\n"
      "Summary: first\r\n"
      "  second\r\n"
      "Requires-Dist: a>=1\r\n"
      "requires-dist: b; extra == \"x\"\r\n"
      "\r\n"
      "Name: not-a-header-any-more\r\n");
  ASSERT_NE(headers.get("name"), nullptr);
  EXPECT_EQ(*headers.get("NAME"), "Foo.Bar");
  EXPECT_EQ(*headers.get("Version"), "1.0");
  EXPECT_EQ(*headers.get("Summary"), "first  second");
  EXPECT_EQ(headers.get_all("Requires-Dist"), (std::vector<std::string>{"a>=1", "b; extra == \"x\""}));
  EXPECT_EQ(headers.get_all("Name").size(), 1u);
  EXPECT_EQ(headers.get("Home-page"), nullptr);
}

TEST(MetadataHeaders, ANonHeaderLineEndsTheHeaders) {
  auto headers = MetadataHeaders::parse("Name: a\nthis is not a header\nVersion: 1\n");
  EXPECT_EQ(*headers.get("Name"), "a");
  EXPECT_EQ(headers.get("Version"), nullptr);
  EXPECT_TRUE(MetadataHeaders::parse("").fields().empty());
  EXPECT_TRUE(MetadataHeaders::parse("  leading continuation\nName: a\n").fields().empty());
}

TEST(ParseRecord, FollowsCsvQuotingRules) {
  auto entries = parse_record(
      "pkg/__init__.py,sha256=abc,12\r\n"
      "\"pkg/with,comma.py\",sha256=def,3\n"
      "\"pkg/say \"\"hi\"\".txt\",,\n"
      "\"pkg/multi\nline\",sha256=x,1\n"
      "\n"
      "pkg-1.0.dist-info/RECORD,,\n"
      "only-path\n",
      "RECORD");
  ASSERT_TRUE(entries) << entries.error().message;
  ASSERT_EQ(entries->size(), 6u);
  EXPECT_EQ((*entries)[0].path, "pkg/__init__.py");
  EXPECT_EQ((*entries)[0].hash, "sha256=abc");
  EXPECT_EQ((*entries)[0].size, "12");
  EXPECT_EQ((*entries)[1].path, "pkg/with,comma.py");
  EXPECT_EQ((*entries)[2].path, "pkg/say \"hi\".txt");
  EXPECT_EQ((*entries)[2].hash, "");
  EXPECT_EQ((*entries)[3].path, "pkg/multi\nline");
  EXPECT_EQ((*entries)[4].path, "pkg-1.0.dist-info/RECORD");
  EXPECT_EQ((*entries)[5].path, "only-path");
  EXPECT_EQ((*entries)[5].size, "");
}

TEST(ParseRecord, ErrorsNameTheSourceAndLine) {
  auto too_many = parse_record("a,b,c\nx,y,z,w\n", "site/pkg-1.dist-info/RECORD");
  ASSERT_FALSE(too_many);
  EXPECT_NE(too_many.error().message.find("site/pkg-1.dist-info/RECORD:2:"), std::string::npos)
      << too_many.error().message;
  auto unterminated = parse_record("a,,\n\"b,,\n", "RECORD");
  ASSERT_FALSE(unterminated);
  EXPECT_NE(unterminated.error().message.find("RECORD:2: unterminated"), std::string::npos)
      << unterminated.error().message;
  auto empty_path = parse_record(",sha256=x,1\n", "RECORD");
  ASSERT_FALSE(empty_path);
  EXPECT_NE(empty_path.error().message.find("RECORD:1: empty path"), std::string::npos);
}

TEST(RequiresFromEggInfo, ConvertsSectionsLikeImportlibMetadata) {
  auto requires_dist = requires_from_egg_info(
      "six>=1.0\n"
      "# comment\n"
      "\n"
      "[socks]\n"
      "PySocks!=1.5.7\n"
      "[:python_version < \"3.8\"]\n"
      "importlib-metadata\n"
      "[test:sys_platform == \"win32\"]\n"
      "colorama\n"
      "[url]\n"
      "pkg@ https://example.com/pkg.zip\n");
  EXPECT_EQ(requires_dist, (std::vector<std::string>{
                               "six>=1.0",
                               "PySocks!=1.5.7; extra == \"socks\"",
                               "importlib-metadata; python_version < \"3.8\"",
                               "colorama; (sys_platform == \"win32\") and extra == \"test\"",
                               "pkg@ https://example.com/pkg.zip ; extra == \"url\"",
                           }));
}

TEST(ScanInstalled, ReadsDistInfoAndEggInfo) {
  testing::TempDir tmp;
  fs::path site = tmp.path() / "site-packages";
  make_dist_info(site, "Foo_Bar-1.0.dist-info",
                 "Metadata-Version: 2.1\nName: Foo_Bar\nVersion: 1.0\nRequires-Dist: six (>=1.0)\n"
                 "Requires-Dist: idna; extra == \"x\"\n\nbody\n",
                 "strata\n");
  write(site / "Foo_Bar-1.0.dist-info" / "direct_url.json", "{}");
  make_dist_info(site, "six-1.16.0.dist-info", "Name: six\nVersion: 1.16.0\n", "");
  write(site / "legacy-2.0-py3.11.egg-info" / "PKG-INFO",
        "Metadata-Version: 1.0\nName: Legacy\nVersion: 2.0\n");
  write(site / "legacy-2.0-py3.11.egg-info" / "requires.txt", "six\n[x]\nidna\n");
  write(site / "distutils_thing-0.1-py3.11.egg-info",
        "Metadata-Version: 1.0\nName: distutils-thing\nVersion: 0.1\n");
  write(site / "not_metadata.txt", "x");

  auto set = scan_installed(std::vector<fs::path>{site});
  ASSERT_TRUE(set) << set.error().message;
  EXPECT_TRUE(set->problems.empty());
  EXPECT_TRUE(set->shadowed.empty());
  ASSERT_EQ(set->distributions.size(), 4u);

  const auto* foo = set->find("foo.bar");
  ASSERT_NE(foo, nullptr);
  EXPECT_EQ(foo->name, "foo-bar");
  EXPECT_EQ(foo->display_name, "Foo_Bar");
  EXPECT_EQ(foo->version, "1.0");
  EXPECT_EQ(foo->installer, "strata");
  EXPECT_TRUE(foo->has_direct_url);
  EXPECT_FALSE(foo->read_only());
  EXPECT_EQ(foo->path, site / "Foo_Bar-1.0.dist-info");
  EXPECT_EQ(foo->site_dir, site);
  EXPECT_EQ(foo->requires_dist, (std::vector<std::string>{"six (>=1.0)", "idna; extra == \"x\""}));

  const auto* six = set->find("SIX");
  ASSERT_NE(six, nullptr);
  EXPECT_EQ(six->installer, "");
  EXPECT_FALSE(six->has_direct_url);

  const auto* legacy = set->find("legacy");
  ASSERT_NE(legacy, nullptr);
  EXPECT_TRUE(legacy->read_only());
  EXPECT_EQ(legacy->version, "2.0");
  EXPECT_EQ(legacy->requires_dist, (std::vector<std::string>{"six", "idna; extra == \"x\""}));

  const auto* thing = set->find("distutils_thing");
  ASSERT_NE(thing, nullptr);
  EXPECT_TRUE(thing->read_only());
  EXPECT_EQ(thing->version, "0.1");
}

TEST(ScanInstalled, FirstSiteDirWinsAndDuplicatesAreReported) {
  testing::TempDir tmp;
  fs::path first = tmp.path() / "first";
  fs::path second = tmp.path() / "second";
  make_dist_info(first, "six-1.16.0.dist-info", "Name: six\nVersion: 1.16.0\n");
  make_dist_info(second, "six-1.15.0.dist-info", "Name: six\nVersion: 1.15.0\n");
  make_dist_info(second, "idna-3.4.dist-info", "Name: idna\nVersion: 3.4\n");
  // Two dist-info dirs of one name in one dir (a leftover): the first by name wins.
  make_dist_info(second, "idna-3.7.dist-info", "Name: idna\nVersion: 3.7\n");
  // The same directory reached twice (lib64 -> lib in a venv) is scanned once.
  fs::create_directory_symlink(first, tmp.path() / "alias");

  auto set =
      scan_installed(std::vector<fs::path>{tmp.path() / "missing", first, tmp.path() / "alias", second});
  ASSERT_TRUE(set) << set.error().message;
  ASSERT_EQ(set->distributions.size(), 2u);
  EXPECT_EQ(set->find("six")->version, "1.16.0");
  EXPECT_EQ(set->find("six")->site_index, 1u);
  EXPECT_EQ(set->find("idna")->version, "3.4");
  EXPECT_EQ(set->find("idna")->site_index, 3u);
  ASSERT_EQ(set->shadowed.size(), 2u);
  EXPECT_EQ(set->shadowed[0].version, "3.7");  // second dir, sorted by directory name
  EXPECT_EQ(set->shadowed[1].version, "1.15.0");
}

TEST(ScanInstalled, BrokenMetadataIsAProblemNamingTheFile) {
  testing::TempDir tmp;
  fs::path site = tmp.path() / "site";
  fs::create_directories(site / "half-1.0.dist-info");  // no METADATA (an interrupted install)
  make_dist_info(site, "noname-1.0.dist-info", "Version: 1.0\n");
  make_dist_info(site, "noversion-1.0.dist-info", "Name: noversion\n");
  make_dist_info(site, "ok-1.0.dist-info", "Name: ok\nVersion: 1.0\n");

  auto set = scan_installed(std::vector<fs::path>{site});
  ASSERT_TRUE(set) << set.error().message;
  ASSERT_EQ(set->distributions.size(), 1u);
  EXPECT_EQ(set->distributions[0].name, "ok");
  ASSERT_EQ(set->problems.size(), 3u);
  EXPECT_NE(set->problems[0].find((site / "half-1.0.dist-info" / "METADATA").string()), std::string::npos)
      << set->problems[0];
  EXPECT_NE(set->problems[1].find("noname-1.0.dist-info/METADATA: no Name header"), std::string::npos)
      << set->problems[1];
  EXPECT_NE(set->problems[2].find("noversion-1.0.dist-info/METADATA: no Version header"), std::string::npos)
      << set->problems[2];
}

TEST(ReadRecord, ParsesTheRecordOfADistInfoAndRefusesEggInfo) {
  testing::TempDir tmp;
  fs::path site = tmp.path();
  make_dist_info(site, "six-1.16.0.dist-info", "Name: six\nVersion: 1.16.0\n");
  write(site / "six-1.16.0.dist-info" / "RECORD", "six.py,sha256=abc,10\nsix-1.16.0.dist-info/RECORD,,\n");
  write(site / "old-1.0.egg-info" / "PKG-INFO", "Name: old\nVersion: 1.0\n");
  auto set = scan_installed(std::vector<fs::path>{site});
  ASSERT_TRUE(set);
  auto record = read_record(*set->find("six"));
  ASSERT_TRUE(record) << record.error().message;
  ASSERT_EQ(record->size(), 2u);
  EXPECT_EQ((*record)[0].path, "six.py");
  auto egg = read_record(*set->find("old"));
  ASSERT_FALSE(egg);
  EXPECT_NE(egg.error().message.find("old-1.0.egg-info"), std::string::npos);
}

TEST(InstalledSet, AddKeepsTheFirstOfEachName) {
  auto dist = [](std::string name, std::string version) {
    InstalledDistribution d;
    d.display_name = name;
    d.name = std::move(name);
    d.version = std::move(version);
    return d;
  };
  InstalledSet set;
  set.add(dist("a", "1"));
  set.add(dist("a", "2"));
  set.add(dist("b", "1"));
  ASSERT_EQ(set.distributions.size(), 2u);
  EXPECT_EQ(set.find("A")->version, "1");
  ASSERT_EQ(set.shadowed.size(), 1u);
  EXPECT_EQ(set.shadowed[0].version, "2");
  EXPECT_EQ(set.find("c"), nullptr);
}

}  // namespace
}  // namespace strata::env
