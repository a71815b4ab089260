#include "plan/decide.hpp"

#include <gtest/gtest.h>

#include "pep/name.hpp"

namespace strata::plan {
namespace {

const std::string kOwner = "webapp";
const std::string kOther = "layer:base";

pep::Version v(std::string_view text) {
  auto version = pep::Version::parse(text);
  if (!version) throw std::runtime_error(version.error().message);
  return *version;
}

std::string sha(char c) { return std::string(64, c); }

SelectedPackage pkg(std::string name, std::string_view version, char hash = 'a') {
  return {.name = name,
          .version = v(version),
          .wheel = name + "-" + std::string(version) + "-py3-none-any.whl",
          .sha256 = sha(hash)};
}

env::InstalledDistribution dist(std::string name, std::string version,
                                std::vector<std::string> requires_dist = {}, std::string installer = "pip") {
  env::InstalledDistribution d;
  d.name = pep::normalize_name(name);
  d.display_name = name;
  d.version = version;
  d.installer = std::move(installer);
  d.path = "/venv/lib/python3.11/site-packages/" + name + "-" + version + ".dist-info";
  d.site_dir = "/venv/lib/python3.11/site-packages";
  d.requires_dist = std::move(requires_dist);
  return d;
}

env::LedgerEntry owned(std::string name, std::string version, std::string owner, char hash = 'a') {
  return {.name = name,
          .version = version,
          .owner = std::move(owner),
          .wheel = name + "-" + version + "-py3-none-any.whl",
          .sha256 = sha(hash),
          .dist_info = "x",
          .installed_at = std::nullopt,
          .built_from = std::nullopt,
          .build_requirements = {}};
}

pep::MarkerEnvironment py311() {
  return {{"implementation_name", "cpython"},
          {"implementation_version", "3.11.7"},
          {"os_name", "posix"},
          {"platform_machine", "x86_64"},
          {"platform_python_implementation", "CPython"},
          {"platform_release", "6.1.0"},
          {"platform_system", "Linux"},
          {"platform_version", "#1 SMP"},
          {"python_full_version", "3.11.7"},
          {"python_version", "3.11"},
          {"sys_platform", "linux"}};
}

struct Fixture {
  env::InstalledSet installed;
  env::Ledger ledger;
  DecideOptions options{
      .owner = kOwner, .allow_replace = false, .markers = py311(), .exact = false, .library_dirs = {}};

  Decisions run(const std::vector<SelectedPackage>& selected) {
    return decide(selected, installed, ledger, options);
  }
};

TEST(Decide, ALocalBuildOfTheLockedVersionIsKeptUnlessExact) {
  Fixture f;
  f.installed.add(dist("torch", "2.5.1+cu124"));
  auto d = f.run({pkg("torch", "2.5.1")}).decisions[0];
  EXPECT_EQ(d.action, Action::keep);
  EXPECT_TRUE(d.local_build);
  EXPECT_NE(d.reason.find("installed 2.5.1+cu124 satisfies the lock's 2.5.1"), std::string::npos) << d.reason;
  EXPECT_EQ(f.run({pkg("torch", "2.5.2")}).decisions[0].action, Action::conflict);
  f.options.exact = true;
  d = f.run({pkg("torch", "2.5.1")}).decisions[0];
  EXPECT_EQ(d.action, Action::conflict);
  EXPECT_FALSE(d.local_build);
}

TEST(Decide, ALockedLocalVersionIsNotALocalBuildOfAnother) {
  Fixture f;
  f.installed.add(dist("torch", "2.5.1+cu124"));
  EXPECT_EQ(f.run({pkg("torch", "2.5.1+cu121")}).decisions[0].action, Action::conflict);
  EXPECT_EQ(f.run({pkg("torch", "2.5.1+cu124")}).decisions[0].action, Action::keep);
  EXPECT_FALSE(f.run({pkg("torch", "2.5.1+cu124")}).decisions[0].local_build);
}

TEST(Decide, ABasePackageIsShadowedWithAllowReplaceEvenAsEggInfo) {
  Fixture f;
  f.options.library_dirs = {"/venv/lib/python3.11/site-packages"};
  auto six = dist("six", "1.16.0", {}, "");
  six.path = "/usr/lib/python3/dist-packages/six-1.16.0.egg-info";
  six.site_dir = "/usr/lib/python3/dist-packages";
  six.format = env::MetadataFormat::egg_info;
  f.installed.add(six);
  auto d = f.run({pkg("six", "1.17.0")}).decisions[0];
  EXPECT_EQ(d.action, Action::conflict);
  EXPECT_TRUE(d.in_base);
  EXPECT_NE(d.reason.find("--allow-replace to shadow it"), std::string::npos) << d.reason;
  f.options.allow_replace = true;
  d = f.run({pkg("six", "1.17.0")}).decisions[0];
  EXPECT_EQ(d.action, Action::replace);
  EXPECT_TRUE(d.forced);
  // In the target's own library directories, legacy egg-info stays a conflict.
  f.options.library_dirs = {"/usr/lib/python3/dist-packages"};
  EXPECT_EQ(f.run({pkg("six", "1.17.0")}).decisions[0].action, Action::conflict);
}

TEST(Decide, NotInstalledIsInstalled) {
  Fixture f;
  auto result = f.run({pkg("six", "1.16.0")});
  ASSERT_EQ(result.decisions.size(), 1u);
  EXPECT_EQ(result.decisions[0].action, Action::install);
  EXPECT_EQ(result.decisions[0].name, "six");
  EXPECT_FALSE(result.decisions[0].installed_version);
}

TEST(Decide, SameVersionUnmanagedIsKept) {
  Fixture f;
  f.installed.add(dist("Typing_Extensions", "4.12.2"));
  auto result = f.run({pkg("typing-extensions", "4.12.2")});
  const auto& d = result.decisions[0];
  EXPECT_EQ(d.action, Action::keep);
  EXPECT_EQ(d.installed_owner, "");
  EXPECT_EQ(d.installer, "pip");
  EXPECT_NE(d.reason.find("unmanaged (installer pip)"), std::string::npos) << d.reason;
}

TEST(Decide, SameVersionComparedAsPep440) {
  Fixture f;
  f.installed.add(dist("pkg", "1.0"));
  EXPECT_EQ(f.run({pkg("pkg", "1.0.0")}).decisions[0].action, Action::keep);
}

TEST(Decide, OursAtSameVersionFromSameWheelIsKept) {
  Fixture f;
  f.installed.add(dist("six", "1.16.0", {}, "strata"));
  f.ledger.record_install(owned("six", "1.16.0", kOwner, 'a'));
  auto d = f.run({pkg("six", "1.16.0", 'a')}).decisions[0];
  EXPECT_EQ(d.action, Action::keep);
  EXPECT_EQ(d.installed_owner, kOwner);
}

TEST(Decide, OursAtSameVersionFromAnotherWheelIsReplaced) {
  Fixture f;
  f.installed.add(dist("six", "1.16.0", {}, "strata"));
  f.ledger.record_install(owned("six", "1.16.0", kOwner, 'a'));
  auto d = f.run({pkg("six", "1.16.0", 'b')}).decisions[0];
  EXPECT_EQ(d.action, Action::replace);
  EXPECT_FALSE(d.forced);
}

TEST(Decide, AnotherOwnersSameVersionIsKeptWhateverTheWheel) {
  Fixture f;
  f.installed.add(dist("six", "1.16.0", {}, "strata"));
  f.ledger.record_install(owned("six", "1.16.0", kOther, 'a'));
  auto d = f.run({pkg("six", "1.16.0", 'b')}).decisions[0];
  EXPECT_EQ(d.action, Action::keep);
  EXPECT_EQ(d.installed_owner, kOther);
  EXPECT_NE(d.reason.find("owned by layer:base"), std::string::npos) << d.reason;
}

TEST(Decide, OursAtAnotherVersionIsReplaced) {
  Fixture f;
  f.installed.add(dist("six", "1.15.0", {}, "strata"));
  f.ledger.record_install(owned("six", "1.15.0", kOwner));
  auto d = f.run({pkg("six", "1.16.0")}).decisions[0];
  EXPECT_EQ(d.action, Action::replace);
  EXPECT_FALSE(d.forced);
  EXPECT_EQ(d.installed_version, "1.15.0");
}

TEST(Decide, EveryConflictIsReportedTogether) {
  Fixture f;
  f.installed.add(dist("six", "1.15.0"));              // unmanaged
  f.installed.add(dist("idna", "3.4", {}, "strata"));  // another owner
  f.ledger.record_install(owned("idna", "3.4", kOther));
  f.installed.add(dist("certifi", "2024.1.1", {}, "strata"));  // ledger knows another version
  f.ledger.record_install(owned("certifi", "2023.1.1", kOwner));
  auto result =
      f.run({pkg("six", "1.16.0"), pkg("idna", "3.7"), pkg("certifi", "2024.2.2"), pkg("new", "1")});
  ASSERT_EQ(result.decisions.size(), 4u);
  EXPECT_EQ(result.count(Action::conflict), 3u);
  EXPECT_EQ(result.count(Action::install), 1u);
  EXPECT_TRUE(result.has_conflicts());
  EXPECT_EQ(result.decisions[0].installed_owner, "");
  EXPECT_NE(result.decisions[0].reason.find(
                "1.15.0 is installed, unmanaged (installer pip); the lock wants 1.16.0"),
            std::string::npos)
      << result.decisions[0].reason;
  EXPECT_EQ(result.decisions[1].installed_owner, kOther);
  // The ledger's entry is for another version: what is installed now is not strata's.
  EXPECT_EQ(result.decisions[2].installed_owner, "");
}

TEST(Decide, AllowReplaceTurnsConflictsIntoForcedReplacements) {
  Fixture f;
  f.options.allow_replace = true;
  f.installed.add(dist("six", "1.15.0"));
  f.installed.add(dist("idna", "3.4", {}, "strata"));
  f.ledger.record_install(owned("idna", "3.4", kOther));
  auto result = f.run({pkg("six", "1.16.0"), pkg("idna", "3.7")});
  EXPECT_FALSE(result.has_conflicts());
  for (const auto& d : result.decisions) {
    EXPECT_EQ(d.action, Action::replace) << d.name;
    EXPECT_TRUE(d.forced) << d.name;
  }
}

TEST(Decide, LegacyEggInfoIsNeverReplaced) {
  Fixture f;
  f.options.allow_replace = true;
  auto egg = dist("oldpkg", "1.0");
  egg.format = env::MetadataFormat::egg_info;
  egg.path = "/venv/lib/python3.11/site-packages/oldpkg-1.0-py3.11.egg-info";
  f.installed.add(egg);
  auto d = f.run({pkg("oldpkg", "2.0")}).decisions[0];
  EXPECT_EQ(d.action, Action::conflict);
  EXPECT_NE(d.reason.find("legacy egg-info"), std::string::npos) << d.reason;
  // At the same version it is kept like any unmanaged distribution.
  EXPECT_EQ(f.run({pkg("oldpkg", "1.0")}).decisions[0].action, Action::keep);
}

TEST(Decide, ReplacementListsTheInstalledDistributionsItBreaks) {
  Fixture f;
  f.options.allow_replace = true;
  f.installed.add(dist("urllib3", "1.26.18"));
  f.installed.add(dist("requests", "2.31.0", {"urllib3 (<3,>=1.21.1)", "idna<4,>=2.5"}));
  f.installed.add(dist("botocore", "1.34.0",
                       {"urllib3<1.27,>=1.25.4; python_version < \"3.10\"",
                        "urllib3!=2.2.0,<2.1,>=1.25.4; python_version >= \"3.10\""}));
  f.installed.add(dist("old-tool", "0.1", {"URLLIB3<2; extra == \"socks\"", "urllib3 ~= 1.26"}));
  f.installed.add(dist("junk", "1.0", {"this is ((( not a requirement", "urllib3<3"}));
  f.installed.add(dist("pinned-url", "1.0", {"urllib3 @ https://example.com/urllib3-1.26.0.tar.gz"}));
  // A dependent that the same selection replaces does not count.
  f.installed.add(dist("responses", "0.20.0", {"urllib3<2"}));
  auto result = f.run({pkg("urllib3", "2.2.1"), pkg("responses", "0.25.0")});

  ASSERT_EQ(result.decisions.size(), 2u);
  const auto& urllib3 = result.decisions[0];
  EXPECT_EQ(urllib3.action, Action::replace);
  EXPECT_TRUE(urllib3.forced);
  ASSERT_EQ(urllib3.broken.size(), 2u);
  EXPECT_EQ(urllib3.broken[0].name, "botocore");
  EXPECT_EQ(urllib3.broken[0].version, "1.34.0");
  EXPECT_EQ(urllib3.broken[0].requirement, "urllib3!=2.2.0,<2.1,>=1.25.4; python_version >= \"3.10\"");
  EXPECT_EQ(urllib3.broken[1].name, "old-tool");
  EXPECT_EQ(urllib3.broken[1].requirement, "urllib3 ~= 1.26");
  EXPECT_TRUE(result.decisions[1].broken.empty());

  ASSERT_EQ(result.warnings.size(), 1u);
  EXPECT_NE(result.warnings[0].find("junk-1.0.dist-info"), std::string::npos) << result.warnings[0];
}

TEST(Decide, PreReleaseReplacementSatisfiesAnAdmittingSpecifier) {
  Fixture f;
  f.installed.add(dist("lib", "1.0", {}, "strata"));
  f.ledger.record_install(owned("lib", "1.0", kOwner));
  f.installed.add(dist("app", "1.0", {"lib>=1.0"}));
  f.installed.add(dist("strict", "1.0", {"lib<2"}));
  auto d = f.run({pkg("lib", "2.0rc1")}).decisions[0];
  EXPECT_EQ(d.action, Action::replace);
  ASSERT_EQ(d.broken.size(), 1u);
  EXPECT_EQ(d.broken[0].name, "strict");
}

TEST(Decide, AConflictSaysWhatItsReplacementWouldBreak) {
  Fixture f;
  f.installed.add(dist("six", "1.15.0"));
  f.installed.add(dist("old-tool", "0.1", {"six<1.16"}));
  f.installed.add(dist("other", "1.0", {"six>=1.10"}));
  auto d = f.run({pkg("six", "1.16.0")}).decisions[0];
  EXPECT_EQ(d.action, Action::conflict);
  ASSERT_EQ(d.broken.size(), 1u);
  EXPECT_EQ(d.broken[0].name, "old-tool");
  EXPECT_EQ(d.broken[0].requirement, "six<1.16");
}

TEST(Decide, NothingIsParsedOrReportedWithoutReplacementsOrConflicts) {
  Fixture f;
  f.installed.add(dist("junk", "1.0", {"((("}));
  f.installed.add(dist("six", "1.16.0"));
  auto result = f.run({pkg("six", "1.16.0"), pkg("idna", "3.7")});  // a keep and an install
  EXPECT_TRUE(result.warnings.empty());
  EXPECT_TRUE(result.decisions[0].broken.empty());
}

TEST(Decide, JsonCarriesActionsOwnersAndCounts) {
  Fixture f;
  f.options.allow_replace = true;
  f.installed.add(dist("urllib3", "1.26.18"));
  f.installed.add(dist("requests", "2.31.0", {"urllib3<2"}));
  auto json = to_json(f.run({pkg("urllib3", "2.2.1"), pkg("six", "1.16.0")}));
  EXPECT_EQ(json["counts"]["replace"], 1);
  EXPECT_EQ(json["counts"]["install"], 1);
  EXPECT_EQ(json["counts"]["conflict"], 0);
  const auto& first = json["decisions"][0];
  EXPECT_EQ(first["action"], "replace");
  EXPECT_EQ(first["installed_owner"], "unmanaged");
  EXPECT_EQ(first["forced"], true);
  EXPECT_EQ(first["breaks"][0]["name"], "requests");
  EXPECT_EQ(json["decisions"][1]["action"], "install");
  EXPECT_FALSE(json["decisions"][1].contains("installed_version"));
}

TEST(OwnerOf, OnlyTheLedgerVersionCounts) {
  env::Ledger ledger;
  ledger.record_install(owned("six", "1.16.0", kOwner));
  EXPECT_EQ(owner_of(dist("six", "1.16.0"), ledger), kOwner);
  EXPECT_EQ(owner_of(dist("six", "1.15.0"), ledger), "");
  EXPECT_EQ(owner_of(dist("idna", "3.4"), ledger), "");
}

}  // namespace
}  // namespace strata::plan
