// Unit tests for layer planning: policy parsing and its errors, rule order, bucket stability,
// sticky placement from a previous plan.json, change counts, determinism, the Dockerfile text.

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "lock/pylock.hpp"
#include "plan/dockerfile.hpp"
#include "plan/layers.hpp"
#include "plan/plan_command.hpp"

namespace strata::plan {
namespace {

constexpr std::string_view kPolicy = R"(policy-version = 1
max-layers = 8

[[rule]]
group = "frameworks"
packages = ["torch", "nvidia-*"]

[[rule]]
group = "local"
sources = ["private", "directory"]
position = "top"

[[rule]]
alone = true
min-size = "1MiB"

[[rule]]
buckets = "b"
count = 3
)";

// kPolicy with one more top-level line.
std::string with_top_key(std::string_view line) {
  std::string text(kPolicy);
  return text.insert(text.find('\n') + 1, std::string(line) + "\n");
}

LayerPolicy policy(std::string_view text = kPolicy) {
  auto p = parse_policy(text, "policy.toml");
  EXPECT_TRUE(p) << p.error().message;
  return p ? *p : LayerPolicy{};
}

// Packages by name and size (0 = unknown); "dir:" names are directory sources.
struct Fixture {
  std::vector<lock::Package> packages;
  std::vector<PlanInput> inputs(const std::vector<std::pair<std::string, std::uint64_t>>& spec,
                                std::string version = "1.0") {
    packages.clear();
    packages.reserve(spec.size());
    for (const auto& [name, size] : spec) {
      lock::Package p;
      p.name = name.starts_with("dir:") ? name.substr(4) : name;
      p.version_text = version;
      if (name.starts_with("dir:")) p.source.kind = lock::SourceKind::directory;
      packages.push_back(p);
    }
    std::vector<PlanInput> out;
    for (std::size_t i = 0; i < spec.size(); ++i) {
      PlanInput in;
      in.package = &packages[i];
      if (spec[i].second) in.size = spec[i].second;
      out.push_back(in);
    }
    return out;
  }
};

std::string layer_of(const LayerPlan& plan, std::string_view package) {
  for (const auto& l : plan.layers)
    for (const auto& p : l.packages)
      if (p.name == package) return l.name;
  return "";
}

std::vector<std::string> names(const LayerPlan& plan) {
  std::vector<std::string> out;
  for (const auto& l : plan.layers) out.push_back(l.name);
  return out;
}

constexpr std::uint64_t MiB = 1 << 20;

TEST(LayerPolicy, ParsesTheDefaultPolicy) {
  auto p = parse_policy(default_policy_text(), "layers/default.toml");
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->max_layers, 32u);
  ASSERT_GE(p->rules.size(), 5u);
  EXPECT_EQ(p->rules[0].name, "gpu-runtimes");
}

TEST(LayerPolicy, BadInputIsAUsageErrorWithLineAndColumn) {
  struct Case {
    std::string text, expected;
  };
  const std::string head = "policy-version = 1\n";
  std::vector<Case> cases = {
      {head + "layers = 3\n", "policy.toml:2:10: unknown key \"layers\" in the policy"},
      {head + "[[rule]]\ngroup = \"g\"\npackages = [\"a\"]\ncolour = 1\n",
       "policy.toml:5:10: unknown key \"colour\" in a group rule"},
      {head + "[[rule]]\nalone = true\nmin-size = \"1MiB\"\ncount = 3\n",
       "policy.toml:5:9: unknown key \"count\" in an alone rule"},
      {head + "[[rule]]\nbuckets = \"b\"\ncount = 3\nmin-size = \"lots\"\n",
       "policy.toml:5:12: invalid size \"lots\""},
      {head + "[[rule]]\ngroup = \"g\"\nalone = true\n", "policy.toml:2:1: rule 1 needs exactly one of"},
      {head + "[[rule]]\ngroup = \"G!\"\npackages = [\"a\"]\n", "invalid layer name \"G!\""},
      {head + "[[rule]]\ngroup = \"g\"\nsources = [\"ftp\"]\n",
       "policy.toml:4:11: unknown source kind \"ftp\""},
      {"policy-version = 2\n", "policy.toml:1:18: unsupported policy-version 2"},
      {head + "learned-order = 1\n", "policy.toml:2:17: expected true or false for \"learned-order\""},
      {head + "[[rule]]\nalone = true\nmin-size = 1\neach = true\n",
       "policy.toml:5:8: unknown key \"each\" in an alone rule"},
      {head + "[[rule]]\ngroup = \"g\"\npackages = [\"a\"]\neach = \"yes\"\n",
       "policy.toml:5:8: expected true or false for \"each\""},
      {"max-layers = 3\n", "missing \"policy-version\""},
      {head + "max-layers = 2\n[[rule]]\nbuckets = \"b\"\ncount = 4\n",
       "need 5 layers, more than the maximum of 2"},
      {head + "[[rule]]\nbuckets = \"b\"\ncount = 2\n[[rule]]\ngroup = \"b\"\npackages = [\"x\"]\n",
       "the layer name \"b\" is used by two rules"},
  };
  for (const auto& c : cases) {
    auto p = parse_policy(c.text, "policy.toml");
    ASSERT_FALSE(p) << c.text;
    EXPECT_EQ(p.error().kind, ErrorKind::usage);
    EXPECT_NE(p.error().message.find(c.expected), std::string::npos)
        << "got: " << p.error().message << "\nwanted: " << c.expected;
  }
}

TEST(LayerPlanning, RulesInOrderAndLayersByBandThenSize) {
  Fixture f;
  auto inputs = f.inputs({{"torch", 800 * MiB},
                          {"nvidia-cublas", 400 * MiB},
                          {"ruff", 11 * MiB},
                          {"mypy", 13 * MiB},
                          {"dir:app", 0},
                          {"six", 10000},
                          {"idna", 60000},
                          {"attrs", 0}});
  LayerPlan plan = assign_layers(inputs, policy(), std::nullopt);
  EXPECT_EQ(layer_of(plan, "torch"), "frameworks");
  EXPECT_EQ(layer_of(plan, "nvidia-cublas"), "frameworks");  // the group comes before "alone"
  EXPECT_EQ(layer_of(plan, "ruff"), "ruff");
  EXPECT_EQ(layer_of(plan, "app"), "local");
  EXPECT_EQ(layer_of(plan, "six"), fmt::format("b-{:02}", bucket_of("six", 3)));
  ASSERT_GE(plan.layers.size(), 4u);
  EXPECT_EQ(plan.layers.front().name, "frameworks");
  EXPECT_EQ(plan.layers.back().name, "local");  // position = "top"
  EXPECT_EQ(plan.layers[1].name, "mypy");       // alone layers larger first
  EXPECT_EQ(plan.layers[2].name, "ruff");
  for (const auto& l : plan.layers)
    for (const auto& p : l.packages) EXPECT_FALSE(p.rule.empty()) << p.name;
  EXPECT_EQ(plan.layers[0].bytes, 1200 * MiB);
}

TEST(LayerPlanning, TheLayerBoundSendsTheSmallestLargePackagesToBuckets) {
  Fixture f;
  std::vector<std::pair<std::string, std::uint64_t>> spec;
  for (int i = 0; i < 10; ++i) spec.emplace_back(fmt::format("big{}", i), (10 + i) * MiB);
  LayerPlan plan = assign_layers(f.inputs(spec), policy(), std::nullopt);
  EXPECT_LE(plan.layers.size(), 8u);
  // 8 layers - 3 buckets (always kept free) = 5 alone layers: the five largest.
  EXPECT_EQ(layer_of(plan, "big9"), "big9");
  EXPECT_EQ(layer_of(plan, "big5"), "big5");
  EXPECT_TRUE(layer_of(plan, "big4").starts_with("b-"));
  // A group package arriving later finds no room for its layer: it goes to its bucket.
  for (auto& l : plan.layers) l.manifest_sha256 = l.name;
  spec.emplace_back("torch", 800 * MiB);
  Fixture f2;
  LayerPlan later = assign_layers(f2.inputs(spec), policy(), plan);
  EXPECT_LE(later.layers.size(), 8u);
  EXPECT_TRUE(layer_of(later, "torch").starts_with("b-"));
}

TEST(LayerPlanning, BucketsDependOnlyOnTheName) {
  EXPECT_EQ(bucket_of("requests", 8), bucket_of("requests", 8));
  Fixture f1, f2;
  LayerPlan a = assign_layers(f1.inputs({{"six", 1}, {"idna", 1}, {"certifi", 1}, {"urllib3", 1}}), policy(),
                              std::nullopt);
  LayerPlan b =
      assign_layers(f2.inputs({{"six", 1}, {"certifi", 1}, {"urllib3", 1}, {"zipp", 1}, {"anyio", 1}}),
                    policy(), std::nullopt);
  for (const char* name : {"six", "certifi", "urllib3"})
    EXPECT_EQ(layer_of(a, name), layer_of(b, name)) << name;
}

TEST(LayerPlanning, StickyPlacementKeepsLayersAndOrder) {
  Fixture f1;
  LayerPlan first =
      assign_layers(f1.inputs({{"mypy", 13 * MiB}, {"ruff", 11 * MiB}, {"six", 1000}, {"idna", 2000}}),
                    policy(), std::nullopt);
  for (auto& l : first.layers) l.manifest_sha256 = "sha-" + l.name;
  // ruff shrinks below the threshold and mypy grows: both stay where they are; idna goes away;
  // a new large package gets its own layer, above the kept ones (learned order, the default)...
  Fixture f2;
  auto inputs = f2.inputs({{"mypy", 20 * MiB}, {"ruff", 10}, {"six", 1000}, {"black", 12 * MiB}}, "2.0");
  LayerPlan second = assign_layers(inputs, policy(), first);
  EXPECT_EQ(layer_of(second, "ruff"), "ruff");
  EXPECT_EQ(layer_of(second, "mypy"), "mypy");
  EXPECT_EQ(layer_of(second, "six"), layer_of(first, "six"));
  EXPECT_EQ(layer_of(second, "idna"), "");
  EXPECT_EQ(layer_of(second, "black"), "black");
  std::vector<std::string> kept;  // the first plan's layers that keep a package, in their order
  for (const auto& l : first.layers)
    if (std::any_of(l.packages.begin(), l.packages.end(), [](const auto& p) { return p.name != "idna"; }))
      kept.push_back(l.name);
  std::vector<std::string> order = names(second);
  EXPECT_EQ(std::vector<std::string>(order.begin(), order.end() - 1), kept);
  EXPECT_EQ(order.back(), "black");
  auto pos = [&](const std::string& n) { return std::find(order.begin(), order.end(), n) - order.begin(); };
  EXPECT_EQ(second.layers[static_cast<std::size_t>(pos("mypy"))].packages[0].version, "2.0");
  // ... or by size among the alone layers with `learned-order = false`.
  LayerPlan fixed = assign_layers(inputs, policy(with_top_key("learned-order = false")), first);
  order = names(fixed);
  EXPECT_LT(pos("mypy"), pos("black"));
  EXPECT_LT(pos("black"), pos("ruff"));
  // Without the previous plan (--fresh) ruff is small again.
  Fixture f3;
  LayerPlan fresh = assign_layers(f3.inputs({{"mypy", 20 * MiB}, {"ruff", 10}, {"six", 1000}}, "2.0"),
                                  policy(), std::nullopt);
  EXPECT_TRUE(layer_of(fresh, "ruff").starts_with("b-"));
}

TEST(LayerPlanning, ChangeCountsAndGenerations) {
  Fixture f;
  LayerPlan first = assign_layers(f.inputs({{"mypy", 13 * MiB}, {"ruff", 11 * MiB}}), policy(), std::nullopt);
  for (auto& l : first.layers) l.manifest_sha256 = "v1-" + l.name;
  record_changes(first, std::nullopt);
  EXPECT_EQ(first.generation, 0u);

  LayerPlan same = assign_layers(f.inputs({{"mypy", 13 * MiB}, {"ruff", 11 * MiB}}), policy(), first);
  for (auto& l : same.layers) l.manifest_sha256 = "v1-" + l.name;
  record_changes(same, first);
  EXPECT_EQ(plan_json(same, "p"), plan_json(first, "p"));  // nothing changed: the same bytes

  LayerPlan bumped = assign_layers(f.inputs({{"mypy", 13 * MiB}, {"ruff", 11 * MiB}}), policy(), first);
  for (auto& l : bumped.layers) l.manifest_sha256 = (l.name == "ruff" ? "v2-" : "v1-") + l.name;
  record_changes(bumped, first);
  EXPECT_EQ(bumped.generation, 1u);
  for (const auto& l : bumped.layers) EXPECT_EQ(l.changes, l.name == "ruff" ? 1u : 0u) << l.name;

  // plan.json round trip.
  auto read = read_plan_json(plan_json(bumped, "p"), "plan.json");
  ASSERT_TRUE(read) << read.error().message;
  EXPECT_EQ(read->generation, 1u);
  EXPECT_EQ(names(*read), names(bumped));
  auto bad = read_plan_json("{\"plan-version\": 9}", "DIR/plan.json");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("DIR/plan.json: unsupported plan-version 9"), std::string::npos);
}

TEST(LayerPlanning, DeterministicWhateverTheProcessState) {
  auto run = [] {
    Fixture f;
    auto inputs =
        f.inputs({{"torch", 800 * MiB}, {"zipp", 100}, {"six", 1000}, {"mypy", 13 * MiB}, {"attrs", 0}});
    std::reverse(inputs.begin(), inputs.end());
    LayerPlan plan = assign_layers(inputs, policy(), std::nullopt);
    for (auto& l : plan.layers) l.manifest_sha256 = l.name;
    return plan_json(plan, "digest");
  };
  std::string before = run();
  auto cwd = std::filesystem::current_path();
  std::filesystem::current_path(std::filesystem::temp_directory_path());
  ::setenv("STRATA_CACHE_DIR", "/nonexistent", 1);
  ::setenv("TZ", "Asia/Tokyo", 1);
  mode_t old = ::umask(077);
  std::string after = run();
  ::umask(old);
  ::unsetenv("STRATA_CACHE_DIR");
  std::filesystem::current_path(cwd);
  EXPECT_EQ(before, after);
  EXPECT_EQ(before.find("/tmp"), std::string::npos);
}

// Gives every layer a manifest digest from its packages and versions, as plan_command does.
void fake_manifests(LayerPlan& plan) {
  for (auto& l : plan.layers) {
    l.manifest_sha256 = l.name;
    for (const auto& p : l.packages) l.manifest_sha256 += fmt::format(" {}={}", p.name, p.version);
  }
}

TEST(LayerPlanning, GroupMembersEachAloneWhileTheBoundLeavesRoom) {
  const std::string text = R"(policy-version = 1
max-layers = 7

[[rule]]
group = "gpu"
packages = ["nvidia-*", "torch"]
each = true

[[rule]]
alone = true
min-size = "1MiB"

[[rule]]
buckets = "b"
count = 2
)";
  Fixture f;
  auto inputs = f.inputs({{"torch", 800 * MiB},
                          {"nvidia-cublas", 400 * MiB},
                          {"nvidia-cudnn", 600 * MiB},
                          {"nvidia-nccl", 200 * MiB},
                          {"nvidia-cusparse", 100 * MiB},
                          {"nvidia-curand", 50 * MiB},
                          {"mypy", 13 * MiB},
                          {"six", 1000}});
  LayerPlan plan = assign_layers(inputs, policy(text), std::nullopt);
  // 7 layers - 2 buckets = 5 for 6 group members and mypy: group members first (before the
  // "alone" rule), largest first, alone while that leaves a layer for the group's shared one; the
  // last two share it; mypy finds no room left and goes to its bucket.
  EXPECT_EQ(layer_of(plan, "torch"), "torch");
  EXPECT_EQ(layer_of(plan, "nvidia-cudnn"), "nvidia-cudnn");
  EXPECT_EQ(layer_of(plan, "nvidia-cublas"), "nvidia-cublas");
  EXPECT_EQ(layer_of(plan, "nvidia-nccl"), "nvidia-nccl");
  EXPECT_EQ(layer_of(plan, "nvidia-cusparse"), "gpu");
  EXPECT_EQ(layer_of(plan, "nvidia-curand"), "gpu");
  EXPECT_TRUE(layer_of(plan, "mypy").starts_with("b-"));
  EXPECT_LE(plan.layers.size(), 7u);
  EXPECT_EQ(names(plan)[0], "torch");  // the group's band is the bottom, larger first
  EXPECT_EQ(plan.layers[0].packages[0].rule, "rule 1: group gpu, each alone");
  // Without `each` the group is one layer.
  std::string one = text;
  one.erase(one.find("each = true\n"), 12);
  Fixture f2;
  LayerPlan grouped =
      assign_layers(f2.inputs({{"torch", 800 * MiB}, {"nvidia-nccl", 200 * MiB}}), policy(one), std::nullopt);
  EXPECT_EQ(layer_of(grouped, "torch"), "gpu");
  EXPECT_EQ(layer_of(grouped, "nvidia-nccl"), "gpu");
}

TEST(LayerPlanning, PackagesCountTheirOwnChanges) {
  Fixture f;
  LayerPlan first = assign_layers(f.inputs({{"mypy", 13 * MiB}, {"six", 1000}}), policy(), std::nullopt);
  fake_manifests(first);
  record_changes(first, std::nullopt);
  auto package = [](const LayerPlan& plan, std::string_view name) {
    for (const auto& l : plan.layers)
      for (const auto& p : l.packages)
        if (p.name == name) return p;
    return PlannedPackage{};
  };
  Fixture f2;
  auto inputs = f2.inputs({{"mypy", 13 * MiB}, {"six", 1000}, {"zipp", 100}}, "1.0");
  f2.packages[0].version_text = "2.0";  // mypy bumped, zipp added
  LayerPlan second = assign_layers(inputs, policy(), first);
  fake_manifests(second);
  record_changes(second, first);
  EXPECT_EQ(second.generation, 1u);
  EXPECT_EQ(package(second, "mypy").changes, 1u);
  EXPECT_EQ(package(second, "six").changes, 0u);
  EXPECT_EQ(package(second, "zipp").since, 1u);
  EXPECT_EQ(package(second, "six").since, 0u);
  auto read = read_plan_json(plan_json(second, "p"), "plan.json");
  ASSERT_TRUE(read) << read.error().message;
  EXPECT_EQ(package(*read, "mypy").changes, 1u);
  EXPECT_EQ(package(*read, "zipp").since, 1u);
  // A plan.json written before packages had counts: none seen, there since their layer was.
  nlohmann::json old = nlohmann::json::parse(plan_json(second, "p"));
  for (auto& l : old["layers"]) {
    l["since"] = 1;
    for (auto& p : l["packages"]) {
      p.erase("changes");
      p.erase("since");
    }
  }
  auto older = read_plan_json(old.dump(), "plan.json");
  ASSERT_TRUE(older) << older.error().message;
  EXPECT_EQ(package(*older, "mypy").changes, 0u);
  EXPECT_EQ(package(*older, "six").since, 1u);
}

// Replays a lock history: three alone layers and a bucket, bumping the named packages each step.
struct History {
  Fixture f;
  std::optional<LayerPlan> plan;
  std::vector<std::pair<std::string, std::uint64_t>> spec = {
      {"big", 20 * MiB}, {"hot", 5 * MiB}, {"cold", 2 * MiB}, {"six", 1000}};
  std::map<std::string, int> versions;
  LayerPlan step(const LayerPolicy& pol, const std::set<std::string>& bumped) {
    for (const auto& n : bumped) ++versions[n];
    auto inputs = f.inputs(spec);
    for (auto& p : f.packages) p.version_text = fmt::format("1.{}", versions[p.name]);
    LayerPlan next = assign_layers(inputs, pol, plan);
    fake_manifests(next);
    order_rebuilt_layers(next, plan, pol);
    record_changes(next, plan);
    plan = next;
    return next;
  }
};

TEST(LayerPlanning, LearnedOrderSortsOnlyWhatDockerRebuildsAnyway) {
  const LayerPolicy pol = policy();
  const std::string six = fmt::format("b-{:02}", bucket_of("six", 3));
  History h;
  LayerPlan fresh = h.step(pol, {});
  EXPECT_EQ(names(fresh), (std::vector<std::string>{"big", "hot", "cold", six}));  // by size
  // "hot" is bumped again and again: everything from its position up is rebuilt each time, and
  // there the volatile layer rises above the stable "cold". "big" never changed: it stays.
  for (int i = 0; i < 4; ++i) h.step(pol, {"hot"});
  EXPECT_EQ(names(*h.plan), (std::vector<std::string>{"big", "cold", "hot", six}));
  EXPECT_GT(h.plan->generation, 0u);
  // Packages never change layers.
  for (const auto& [name, size] : h.spec) EXPECT_EQ(layer_of(*h.plan, name), layer_of(fresh, name)) << name;
  // Re-planning the same lock keeps the order and the bytes.
  std::string before = plan_json(*h.plan, "p");
  h.step(pol, {});
  EXPECT_EQ(plan_json(*h.plan, "p"), before);
  // Nothing below the lowest changed layer moves: a bump of the top layer moves nothing.
  h.step(pol, {"six"});
  EXPECT_EQ(names(*h.plan), (std::vector<std::string>{"big", "cold", "hot", six}));
  // With `learned-order = false` the same history keeps the fresh order.
  const LayerPolicy fixed = policy(with_top_key("learned-order = false"));
  History g;
  g.step(fixed, {});
  for (int i = 0; i < 4; ++i) g.step(fixed, {"hot"});
  EXPECT_EQ(names(*g.plan), names(fresh));
}

TEST(LayerPlanning, LearnedOrderKeepsTopLayersOnTop) {
  Fixture f;
  const LayerPolicy pol = policy();
  auto inputs = f.inputs({{"dir:app", 50 * MiB}, {"mypy", 13 * MiB}, {"six", 1000}});
  LayerPlan first = assign_layers(inputs, pol, std::nullopt);
  fake_manifests(first);
  record_changes(first, std::nullopt);
  ASSERT_EQ(names(first).back(), "local");
  f.packages[1].version_text = "2.0";  // mypy at the bottom: everything is rebuilt
  LayerPlan second = assign_layers(inputs, pol, first);
  fake_manifests(second);
  order_rebuilt_layers(second, first, pol);
  EXPECT_EQ(names(second).back(), "local");  // the largest, never bumped layer would otherwise sink
}

TEST(LayerDockerfile, OneCopyAndRunPerManifestThenTheWholeLock) {
  Fixture f;
  auto inputs = f.inputs({{"mypy", 13 * MiB}, {"six", 1000}});
  inputs[0].source_name = "private";
  LayerPlan plan = assign_layers(inputs, policy(), std::nullopt);
  DockerfileOptions o;
  o.layers_dir = "layers";
  o.lock_files = {"poetry.lock", "pyproject.toml"};
  o.selection = {"--with dev"};
  o.secrets = {"private"};
  std::string text = dockerfile_fragment(plan, o);
  std::string first = plan.layers[0].file_name(0);
  EXPECT_NE(text.find(fmt::format("COPY layers/{} /strata/layers/\n", first)), std::string::npos) << text;
  EXPECT_NE(text.find(fmt::format("strata install --layer /strata/layers/{} --env /opt/venv", first)),
            std::string::npos);
  EXPECT_NE(text.find("--mount=type=secret,id=strata-private-password"), std::string::npos);
  EXPECT_NE(text.find("STRATA_HTTP_BASIC_PRIVATE_PASSWORD_FILE=/run/secrets/strata-private-password"),
            std::string::npos);
  EXPECT_NE(text.find("COPY poetry.lock pyproject.toml /strata/lock/\n"), std::string::npos);
  EXPECT_NE(text.find("strata install /strata/lock/ --with dev --env /opt/venv"), std::string::npos);
  std::size_t copies = 0;
  for (std::size_t at = text.find("COPY layers/"); at != std::string::npos;
       at = text.find("COPY layers/", at + 1))
    ++copies;
  EXPECT_EQ(copies, plan.layers.size());

  auto complete = complete_dockerfile("FROM python:3.11-slim\nWORKDIR /app\nCOPY app.py ./\nCMD [\"x\"]\n",
                                      "Dockerfile", "# fragment\n");
  ASSERT_TRUE(complete) << complete.error().message;
  EXPECT_EQ(*complete, "FROM python:3.11-slim\nWORKDIR /app\n# fragment\nCOPY app.py ./\nCMD [\"x\"]\n");
  EXPECT_FALSE(complete_dockerfile("# nothing\n", "Dockerfile", ""));
}

}  // namespace
}  // namespace strata::plan
