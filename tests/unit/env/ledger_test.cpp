#include "env/ledger.hpp"

#include <fstream>

#include <gtest/gtest.h>

#include "support/tempdir.hpp"
#include "util/fs.hpp"

namespace strata::env {
namespace {
namespace fs = std::filesystem;

LedgerEntry entry(std::string name, std::string version, std::string owner) {
  return {.name = std::move(name),
          .version = version,
          .owner = std::move(owner),
          .wheel = "pkg-" + version + "-py3-none-any.whl",
          .sha256 = std::string(64, 'a'),
          .dist_info = "lib/python3.11/site-packages/pkg-" + version + ".dist-info",
          .installed_at = std::nullopt,
          .built_from = std::nullopt,
          .build_requirements = {}};
}

TEST(Ledger, MissingFileIsAnEmptyLedger) {
  testing::TempDir tmp;
  auto ledger = Ledger::load(tmp.path());
  ASSERT_TRUE(ledger) << ledger.error().message;
  EXPECT_TRUE(ledger->entries().empty());
  EXPECT_EQ(ledger->owner_of("six"), std::nullopt);
  EXPECT_FALSE(fs::exists(tmp.path() / ".strata"));  // loading writes nothing
}

TEST(Ledger, SaveAndLoadRoundTrip) {
  testing::TempDir tmp;
  Ledger ledger;
  ledger.record_install(entry("Typing_Extensions", "4.12.2", "lock:/app/poetry.lock"));
  auto with_time = entry("six", "1.16.0", "layer:base");
  with_time.installed_at = "2026-01-01T00:00:00Z";
  ledger.record_install(with_time);
  ASSERT_TRUE(ledger.save(tmp.path()));
  EXPECT_TRUE(fs::exists(tmp.path() / ".strata" / "ledger.json"));

  auto loaded = Ledger::load(tmp.path());
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->entries(), ledger.entries());
  EXPECT_EQ(loaded->owner_of("typing-extensions"), "lock:/app/poetry.lock");
  EXPECT_EQ(loaded->owner_of("TYPING.EXTENSIONS"), "lock:/app/poetry.lock");
  EXPECT_EQ(loaded->owner_of("six"), "layer:base");
  ASSERT_NE(loaded->find("six"), nullptr);
  EXPECT_EQ(loaded->find("six")->installed_at, "2026-01-01T00:00:00Z");
  EXPECT_EQ(loaded->dump(), ledger.dump());
}

TEST(Ledger, DumpIsStableSortedAndHasNoTimeByDefault) {
  Ledger a, b;
  a.record_install(entry("zeta", "1", "lock:/x"));
  a.record_install(entry("alpha", "2", "lock:/x"));
  b.record_install(entry("alpha", "2", "lock:/x"));
  b.record_install(entry("zeta", "1", "lock:/x"));
  EXPECT_EQ(a.dump(), b.dump());
  EXPECT_LT(a.dump().find("\"alpha\""), a.dump().find("\"zeta\""));
  EXPECT_EQ(a.dump().find("installed_at"), std::string::npos);
  EXPECT_EQ(a.dump().back(), '\n');
}

TEST(Ledger, RecordInstallReplacesAndRemovalForgets) {
  Ledger ledger;
  ledger.record_install(entry("six", "1.15.0", "lock:/a"));
  ledger.record_install(entry("Six", "1.16.0", "lock:/b"));
  ASSERT_EQ(ledger.entries().size(), 1u);
  EXPECT_EQ(ledger.find("six")->version, "1.16.0");
  EXPECT_EQ(ledger.owner_of("six"), "lock:/b");
  EXPECT_TRUE(ledger.record_removal("SIX"));
  EXPECT_FALSE(ledger.record_removal("six"));
  EXPECT_EQ(ledger.owner_of("six"), std::nullopt);
}

TEST(Ledger, CorruptFileIsAnErrorNamingItAndTheRepair) {
  testing::TempDir tmp;
  fs::path file = Ledger::file_for(tmp.path());
  fs::create_directories(file.parent_path());
  ASSERT_TRUE(util::write_file_atomic(file, "{\"format\": 1, \"distributions\": {"));
  auto ledger = Ledger::load(tmp.path());
  ASSERT_FALSE(ledger);
  EXPECT_EQ(ledger.error().kind, ErrorKind::runtime);
  EXPECT_NE(ledger.error().message.find(file.string() + ": not valid JSON"), std::string::npos)
      << ledger.error().message;
  EXPECT_NE(ledger.error().message.find("delete"), std::string::npos) << ledger.error().message;
}

TEST(Ledger, WrongShapesAreRejected) {
  struct Case {
    const char* text;
    const char* expected;
  };
  for (const Case& c : {
           Case{"[]", "L: expected a JSON object"},
           Case{"{\"distributions\": {}}", "L: missing integer \"format\""},
           Case{"{\"format\": 2, \"distributions\": {}}", "L: ledger format 2 is not supported"},
           Case{"{\"format\": 1}", "L: expected an object for \"distributions\""},
           Case{"{\"format\": 1, \"distributions\": {\"six\": 3}}",
                "distribution \"six\": expected an object"},
           Case{"{\"format\": 1, \"distributions\": {\"six\": {\"version\": \"1\"}}}",
                "distribution \"six\": expected a string for \"owner\""},
           Case{"{\"format\": 1, \"distributions\": {\"Six\": {}}}", "key is not a normalized name"},
       }) {
    auto ledger = Ledger::parse(c.text, "L");
    ASSERT_FALSE(ledger) << c.text;
    EXPECT_NE(ledger.error().message.find(c.expected), std::string::npos)
        << c.text << " -> " << ledger.error().message;
  }
}

TEST(Owners, LockOwnerIsTheResolvedAbsolutePath) {
  testing::TempDir tmp;
  fs::create_directories(tmp.path() / "real");
  std::ofstream(tmp.path() / "real" / "poetry.lock") << "";
  fs::create_directory_symlink(tmp.path() / "real", tmp.path() / "link");
  auto via_link = lock_owner(tmp.path() / "link" / "poetry.lock");
  auto direct = lock_owner(tmp.path() / "real" / "." / "poetry.lock");
  ASSERT_TRUE(via_link);
  ASSERT_TRUE(direct);
  EXPECT_EQ(*via_link, *direct);
  EXPECT_EQ(*direct, "lock:" + fs::canonical(tmp.path()).string() + "/real/poetry.lock");
  EXPECT_EQ(layer_owner("03-scientific"), "layer:03-scientific");
}

}  // namespace
}  // namespace strata::env
