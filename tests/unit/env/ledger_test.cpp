#include "env/ledger.hpp"

#include <sys/stat.h>

#include <fstream>
#include <set>

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

ino_t inode_of(const fs::path& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

TEST(Ledger, MissingFileIsAnEmptyLedger) {
  testing::TempDir tmp;
  auto ledger = Ledger::load(tmp.path());
  ASSERT_TRUE(ledger) << ledger.error().message;
  EXPECT_TRUE(ledger->entries().empty());
  EXPECT_EQ(ledger->owner_of("six"), std::nullopt);
  EXPECT_FALSE(fs::exists(tmp.path() / ".strata"));  // loading writes nothing
}

TEST(Ledger, SaveAndLoadRoundTripOneFilePerOwner) {
  testing::TempDir tmp;
  Ledger ledger;
  ledger.record_install(entry("Typing_Extensions", "4.12.2", "webapp"));
  auto with_time = entry("six", "1.16.0", "layer:base");
  with_time.installed_at = "2026-01-01T00:00:00Z";
  ledger.record_install(with_time);
  ASSERT_TRUE(ledger.save(tmp.path()));
  EXPECT_TRUE(fs::exists(tmp.path() / ".strata" / "owners" / "webapp.json"));
  EXPECT_TRUE(fs::exists(tmp.path() / ".strata" / "owners" / "layer%3Abase.json"));
  EXPECT_FALSE(fs::exists(tmp.path() / ".strata" / "ledger.json"));

  auto loaded = Ledger::load(tmp.path());
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->entries(), ledger.entries());
  EXPECT_EQ(loaded->owner_of("typing-extensions"), "webapp");
  EXPECT_EQ(loaded->owner_of("TYPING.EXTENSIONS"), "webapp");
  EXPECT_EQ(loaded->owner_of("six"), "layer:base");
  ASSERT_NE(loaded->find("six"), nullptr);
  EXPECT_EQ(loaded->find("six")->installed_at, "2026-01-01T00:00:00Z");
  EXPECT_EQ(loaded->dump("webapp"), ledger.dump("webapp"));
  EXPECT_EQ(loaded->owners(), (std::set<std::string>{"layer:base", "webapp"}));
  EXPECT_EQ(loaded->files().size(), 2u);
  // Each file holds its owner only.
  auto text = util::read_file(Ledger::file_for(tmp.path(), "webapp"));
  ASSERT_TRUE(text);
  EXPECT_EQ(*text, ledger.dump("webapp"));
  EXPECT_EQ(text->find("six"), std::string::npos);
}

TEST(Ledger, SavingOneOwnerTouchesNoOtherOwnersFile) {
  testing::TempDir tmp;
  Ledger first;
  first.record_install(entry("six", "1.16.0", "layer:base"));
  ASSERT_TRUE(first.save(tmp.path()));
  const fs::path base = Ledger::file_for(tmp.path(), "layer:base");
  const auto before = fs::last_write_time(base);
  const auto inode = inode_of(base);

  auto second = Ledger::load(tmp.path());
  ASSERT_TRUE(second);
  second->record_install(entry("idna", "3.7", "layer:web"));
  ASSERT_TRUE(second->save(tmp.path()));
  EXPECT_EQ(fs::last_write_time(base), before);
  EXPECT_EQ(inode_of(base), inode);  // not rewritten either (an atomic write makes a new inode)
  auto third = Ledger::load(tmp.path());
  ASSERT_TRUE(third);
  EXPECT_EQ(third->owner_of("six"), "layer:base");
  EXPECT_EQ(third->owner_of("idna"), "layer:web");

  // An owner left with nothing loses its file; the others stay.
  third->record_removal("idna");
  ASSERT_TRUE(third->save(tmp.path()));
  EXPECT_FALSE(fs::exists(Ledger::file_for(tmp.path(), "layer:web")));
  EXPECT_EQ(fs::last_write_time(base), before);
}

TEST(Ledger, LegacyLedgerIsReadAndMigratedOnSave) {
  testing::TempDir tmp;
  const fs::path legacy = Ledger::legacy_file_for(tmp.path());
  fs::create_directories(legacy.parent_path());
  // What strata wrote before owners were projects: one file, owners by lock path.
  ASSERT_TRUE(util::write_file_atomic(legacy, R"({"format": 1, "distributions": {
    "six": {"version": "1.16.0", "owner": "lock:/app/poetry.lock", "wheel": "six.whl", "sha256": "aa", "dist_info": "d"},
    "idna": {"version": "3.7", "owner": "lock:/other/poetry.lock", "wheel": "idna.whl", "sha256": "bb", "dist_info": "e"}
  }})"));
  auto ledger = Ledger::load(tmp.path());
  ASSERT_TRUE(ledger) << ledger.error().message;
  EXPECT_TRUE(ledger->has_legacy());
  EXPECT_EQ(ledger->owner_of("six"), "lock:/app/poetry.lock");
  // The install of the lock at that path takes its entries over; the other lock's stay its own.
  EXPECT_EQ(ledger->reassign("lock:/app/poetry.lock", "webapp"), 1u);
  EXPECT_EQ(ledger->owner_of("six"), "webapp");
  EXPECT_EQ(ledger->owner_of("idna"), "lock:/other/poetry.lock");
  ASSERT_TRUE(ledger->save(tmp.path()));
  EXPECT_FALSE(fs::exists(legacy));
  EXPECT_TRUE(fs::exists(Ledger::file_for(tmp.path(), "webapp")));
  EXPECT_TRUE(fs::exists(tmp.path() / ".strata" / "owners" / "lock%3A%2Fother%2Fpoetry%2Elock.json"));
  auto again = Ledger::load(tmp.path());
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_FALSE(again->has_legacy());
  EXPECT_EQ(again->entries(), ledger->entries());
}

TEST(Ledger, OwnerFilesWinOverTheLegacyLedger) {
  testing::TempDir tmp;
  Ledger ledger;
  ledger.record_install(entry("six", "1.17.0", "webapp"));
  ASSERT_TRUE(ledger.save(tmp.path()));
  ASSERT_TRUE(util::write_file_atomic(
      Ledger::legacy_file_for(tmp.path()),
      R"({"format": 1, "distributions": {"six": {"version": "1.16.0", "owner": "lock:/x", "wheel": "w", "sha256": "s", "dist_info": "d"}}})"));
  auto loaded = Ledger::load(tmp.path());
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->find("six")->version, "1.17.0");
}

TEST(Ledger, DumpIsStableSortedAndHasNoTimeByDefault) {
  Ledger a, b;
  a.record_install(entry("zeta", "1", "x"));
  a.record_install(entry("alpha", "2", "x"));
  a.record_install(entry("beta", "2", "y"));
  b.record_install(entry("alpha", "2", "x"));
  b.record_install(entry("zeta", "1", "x"));
  EXPECT_EQ(a.dump("x"), b.dump("x"));
  EXPECT_LT(a.dump("x").find("\"alpha\""), a.dump("x").find("\"zeta\""));
  EXPECT_EQ(a.dump("x").find("beta"), std::string::npos);
  EXPECT_EQ(a.dump("x").find("installed_at"), std::string::npos);
  EXPECT_EQ(a.dump("x").back(), '\n');
}

TEST(Ledger, RecordInstallReplacesAndRemovalForgets) {
  Ledger ledger;
  ledger.record_install(entry("six", "1.15.0", "a"));
  ledger.record_install(entry("Six", "1.16.0", "b"));
  ASSERT_EQ(ledger.entries().size(), 1u);
  EXPECT_EQ(ledger.find("six")->version, "1.16.0");
  EXPECT_EQ(ledger.owner_of("six"), "b");
  EXPECT_TRUE(ledger.record_removal("SIX"));
  EXPECT_FALSE(ledger.record_removal("six"));
  EXPECT_EQ(ledger.owner_of("six"), std::nullopt);
}

TEST(Ledger, CorruptFileIsAnErrorNamingItAndTheRepair) {
  testing::TempDir tmp;
  fs::path file = Ledger::file_for(tmp.path(), "webapp");
  fs::create_directories(file.parent_path());
  ASSERT_TRUE(util::write_file_atomic(file, "{\"format\": 2, \"distributions\": {"));
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
           Case{"{\"format\": 3, \"distributions\": {}}", "L: ledger format 3 is not supported"},
           Case{"{\"format\": 2, \"distributions\": {}}", "L: expected a non-empty string for \"owner\""},
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
  EXPECT_EQ(layer_owner("", "03-scientific"), "layer:03-scientific");
  EXPECT_EQ(layer_owner("webapp", "scientific"), "layer:webapp/scientific");
  EXPECT_NE(layer_owner("webapp", "base"), layer_owner("billing", "base"));
}

TEST(Owners, ProjectOwnersAreNormalizedNamesAndFileNamesAreOneToOne) {
  EXPECT_EQ(project_owner("My_App", "--owner").value(), "my-app");
  auto bad = project_owner("../x", "--owner");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().kind, ErrorKind::usage);
  EXPECT_NE(bad.error().message.find("--owner \"../x\""), std::string::npos) << bad.error().message;
  EXPECT_FALSE(project_owner("", "--owner"));
  EXPECT_EQ(owner_file_name("webapp"), "webapp.json");
  EXPECT_EQ(owner_file_name("layer:base"), "layer%3Abase.json");
  EXPECT_EQ(owner_file_name("a%3Ab"), "a%253Ab.json");
  EXPECT_NE(owner_file_name("layer:a.b"), owner_file_name("layer:a-b"));
  EXPECT_EQ(owner_file_name("lock:/app/poetry.lock").find('/'), std::string::npos);
}

TEST(Owners, AFileNotNamedForItsOwnerIsAnError) {
  testing::TempDir tmp;
  Ledger ledger;
  ledger.record_install(entry("six", "1.16.0", "webapp"));
  ASSERT_TRUE(ledger.save(tmp.path()));
  fs::rename(Ledger::file_for(tmp.path(), "webapp"), Ledger::owners_dir(tmp.path()) / "other.json");
  auto loaded = Ledger::load(tmp.path());
  ASSERT_FALSE(loaded);
  EXPECT_NE(loaded.error().message.find("holds owner \"webapp\""), std::string::npos)
      << loaded.error().message;
}

}  // namespace
}  // namespace strata::env
