#pragma once
// Layer planning for `strata plan` (SPEC "strata plan", docs/layer-manifest.md): the policy
// (layers/default.toml or --policy FILE), the pure placement of selected packages into ordered
// layers with a previous plan.json kept sticky, and plan.json itself. No I/O here: the caller
// reads files, looks sizes up and writes the results.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "lock/model.hpp"
#include "util/error.hpp"

namespace strata::plan {

/// The default bound on the number of layers (Docker's hard limit is about 125).
inline constexpr std::size_t kDefaultMaxLayers = 32;

/// One ordered rule of a layer policy; the first rule that takes a package places it.
struct LayerRule {
  enum class Kind {
    group,    ///< a named layer for packages matching `packages` patterns or `sources` kinds
    alone,    ///< packages of at least `min_size` bytes, each in its own layer
    buckets,  ///< packages of at least `min_size` bytes over `count` layers by a hash of the name
  };
  Kind kind = Kind::group;
  std::string name;                   ///< group: the layer name; buckets: the prefix of "<name>-NN"
  std::vector<std::string> packages;  ///< group: normalized names, `*` matches any run of characters
  /// group: "private" (a named index other than the default), "url", "file", "directory", "vcs".
  std::vector<std::string> sources;
  bool top = false;  ///< group: placed above every other layer (`position = "top"`)
  /// group: each matching package in a layer of its own while the bound leaves room (largest
  /// first); the rest share the group's layer.
  bool each = false;
  std::uint64_t min_size = 0;  ///< alone / buckets: packages below it (or of unknown size) pass
  std::size_t count = 0;       ///< buckets: how many
  std::size_t reserve = 0;     ///< alone: layers a fresh plan leaves free for packages added later
  std::string location;        ///< "file:line:col" of the rule, for messages
  /// "rule N (...)": how plan.json names the rule that placed a package.
  std::string describe(std::size_t index) const;
};

/// A whole policy.
struct LayerPolicy {
  std::size_t max_layers = kDefaultMaxLayers;
  /// A re-plan orders the layers Docker rebuilds anyway (from the lowest changed one up) by the
  /// change rates learned from plan.json (`learned-order`, default true); false keeps rule order.
  bool learned_order = true;
  std::vector<LayerRule> rules;
};

/// Parses a policy (format in layers/README.md). Unknown keys, keys that do not belong to a rule's
/// kind and bad values are usage errors "source_name:line:col: ...", as is a policy whose groups
/// and buckets alone exceed max-layers.
Result<LayerPolicy> parse_policy(std::string_view text, std::string_view source_name);

/// Checks `max_layers` against the layers the policy's groups and buckets may need.
Result<void> check_max_layers(const LayerPolicy& policy, std::size_t max_layers,
                              std::string_view source_name);

/// The bucket of a normalized name among `count`: FNV-1a 64 of the name modulo count, so a
/// package's bucket depends on nothing but its own name.
std::size_t bucket_of(std::string_view normalized_name, std::size_t count);

/// One selected package as the planner sees it.
struct PlanInput {
  const lock::Package* package = nullptr;
  std::optional<std::uint64_t> size;  ///< bytes of the artifact the target installs, when known
  std::string size_source;            ///< "lock", "index" or "" (unknown: treated as 0)
  bool private_source = false;        ///< from a named index other than the default one
  std::string source_name;            ///< the lock's name for its index ("" = the default index)
};

/// A package in a planned layer.
struct PlannedPackage {
  std::string name;  ///< normalized
  std::string version;
  std::optional<std::uint64_t> size;
  std::string size_source;
  std::string rule;           ///< the rule that placed it (kept across sticky re-plans)
  std::string source;         ///< the lock's source name of its index, "" for the default index
  std::uint64_t changes = 0;  ///< re-plans in which its version changed
  std::uint64_t since = 0;    ///< the plan generation it was added in
};

/// One layer of a plan.
struct PlannedLayer {
  std::string name;
  std::string kind;      ///< "group", "alone" or "bucket"
  std::size_t band = 0;  ///< the placing rule's index (top groups: after every rule), for ordering
  std::vector<PlannedPackage> packages;  ///< sorted by name
  std::uint64_t bytes = 0;               ///< sum of the known sizes
  std::uint64_t changes = 0;             ///< re-plans in which its manifest changed
  std::uint64_t since = 0;               ///< the plan generation it was created in
  std::string manifest_sha256;           ///< of its manifest's bytes (set by the caller)
  /// "NN-<name>.toml" for a position.
  std::string file_name(std::size_t position) const;
};

/// A plan: layers bottom first, and how many re-plans changed something.
struct LayerPlan {
  std::uint64_t generation = 0;
  std::vector<PlannedLayer> layers;
};

/// Places `inputs` into layers by `policy`, keeping every package of `previous` that is still
/// selected in its layer and every kept layer in its order; new packages go by the policy. New
/// layers of a re-plan go above the kept ones (with `learned_order`; order_rebuilt_layers then
/// sorts them in), else by band and size among the kept ones. Without `previous` (or --fresh)
/// layers are ordered by band, then larger first. Deterministic: depends only on its arguments.
LayerPlan assign_layers(const std::vector<PlanInput>& inputs, const LayerPolicy& policy,
                        const std::optional<LayerPlan>& previous);

/// A re-plan's layers from the lowest position whose layer differs from `previous` (another name
/// there or another manifest) up are rebuilt by Docker whatever their order: with the policy's
/// `learned_order`, sorts that part by the odds that a layer changes per byte it holds, lowest
/// first, learned from the packages' change counts in plan.json (a layer of rarely bumped, large
/// packages sinks; small volatile layers rise); `position = "top"` layers stay above the rest.
/// Moves no package and changes no manifest; needs every manifest_sha256; with nothing changed it
/// keeps the order, so re-planning an unchanged lock gives the same plan.
void order_rebuilt_layers(LayerPlan& plan, const std::optional<LayerPlan>& previous,
                          const LayerPolicy& policy);

/// Counts changes once every layer has its manifest_sha256: a layer whose manifest differs from
/// the previous plan's layer of that name (or is new) counts one change, and the generation
/// goes up when anything changed; a package whose version differs from the previous plan's counts
/// one change, and a new package's `since` is the new generation. Unchanged plans stay
/// byte-identical.
void record_changes(LayerPlan& plan, const std::optional<LayerPlan>& previous);

/// plan.json (sorted keys, two-space indent, a final newline).
std::string plan_json(const LayerPlan& plan, std::string_view policy_sha256);
/// Reads a plan.json written by plan_json; errors (usage) name `source_name`.
Result<LayerPlan> read_plan_json(std::string_view text, std::string_view source_name);

}  // namespace strata::plan
