#include "plan/layers.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include <fmt/format.h>

#include "lock/toml_read.hpp"
#include "util/strings.hpp"

namespace strata::plan {
namespace {

using lock::detail::TomlFields;

constexpr int kPolicyVersion = 1;
constexpr int kPlanVersion = 1;

// ---- policy ----

bool valid_layer_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  auto ok_first = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!ok_first(name.front())) return false;
  return std::all_of(name.begin(), name.end(),
                     [&](char c) { return ok_first(c) || c == '-' || c == '_' || c == '.'; });
}

// "1048576", 1048576, "1MiB", "256KiB", "2MB": bytes.
std::uint64_t read_size(const TomlFields& f, const toml::table& t, std::string_view key) {
  const toml::node* node = t.get(key);
  if (!node) return 0;
  if (const auto* i = node->as_integer()) {
    if (i->get() < 0) f.fail_at(*node, fmt::format("expected a non-negative size for \"{}\"", key));
    return static_cast<std::uint64_t>(i->get());
  }
  const auto* s = node->as_string();
  if (!s) f.fail_at(*node, fmt::format("expected a size (bytes, or a string like \"1MiB\") for \"{}\"", key));
  std::string_view text = util::trim(s->get());
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  auto number = util::parse_uint(text.substr(0, digits));
  static const std::map<std::string, std::uint64_t, std::less<>> units = {{"", 1},
                                                                          {"B", 1},
                                                                          {"KB", 1000},
                                                                          {"MB", 1000 * 1000},
                                                                          {"GB", 1000 * 1000 * 1000},
                                                                          {"KiB", 1u << 10},
                                                                          {"MiB", 1u << 20},
                                                                          {"GiB", 1ull << 30}};
  auto unit = units.find(util::trim(text.substr(digits)));
  if (!number || unit == units.end())
    f.fail_at(*node,
              fmt::format("invalid size \"{}\" for \"{}\" (expected e.g. 1048576, \"256KiB\" or \"1MiB\")",
                          s->get(), key));
  return *number * unit->second;
}

std::size_t read_count(const TomlFields& f, const toml::table& t, std::string_view key, std::int64_t low,
                       std::int64_t high) {
  auto value = f.opt_int(t, key);
  if (!value) return 0;
  if (*value < low || *value > high)
    f.fail_at(*t.get(key), fmt::format("\"{}\" must be between {} and {}", key, low, high));
  return static_cast<std::size_t>(*value);
}

LayerRule read_rule(const TomlFields& f, const toml::table& t, std::size_t index) {
  LayerRule rule;
  rule.location = f.where(t);
  int kinds = (t.get("group") ? 1 : 0) + (t.get("alone") ? 1 : 0) + (t.get("buckets") ? 1 : 0);
  if (kinds != 1)
    f.fail_at(t, fmt::format("rule {} needs exactly one of \"group\", \"alone\" and \"buckets\"", index + 1));
  if (t.get("group")) {
    rule.kind = LayerRule::Kind::group;
    f.check_keys(t, {"group", "packages", "sources", "position", "each"}, "a group rule");
    rule.each = f.opt_bool(t, "each").value_or(false);
    rule.name = *f.opt_string(t, "group");
    for (auto& p : f.string_array(t, "packages")) rule.packages.push_back(util::to_lower(p));
    rule.sources = f.string_array(t, "sources");
    for (const auto& s : rule.sources) {
      if (s != "private" && s != "url" && s != "file" && s != "directory" && s != "vcs")
        f.fail_at(
            *t.get("sources"),
            fmt::format("unknown source kind \"{}\" (expected private, url, file, directory or vcs)", s));
    }
    if (rule.packages.empty() && rule.sources.empty())
      f.fail_at(t, fmt::format("group \"{}\" names no \"packages\" and no \"sources\"", rule.name));
    if (auto position = f.opt_string(t, "position")) {
      if (*position != "top" && *position != "rule")
        f.fail_at(*t.get("position"),
                  fmt::format("unknown position \"{}\" (expected \"top\" or \"rule\")", *position));
      rule.top = *position == "top";
    }
  } else if (const toml::node* alone = t.get("alone")) {
    rule.kind = LayerRule::Kind::alone;
    f.check_keys(t, {"alone", "min-size", "reserve"}, "an alone rule");
    const auto* b = alone->as_boolean();
    if (!b || !b->get()) f.fail_at(*alone, "expected \"alone = true\"");
    rule.min_size = read_size(f, t, "min-size");
    if (!t.get("min-size")) f.fail_at(t, "an alone rule needs \"min-size\"");
    rule.reserve = read_count(f, t, "reserve", 0, 100);
  } else {
    rule.kind = LayerRule::Kind::buckets;
    f.check_keys(t, {"buckets", "count", "min-size"}, "a buckets rule");
    rule.name = *f.opt_string(t, "buckets");
    rule.count = read_count(f, t, "count", 1, 100);
    if (rule.count == 0) f.fail_at(t, fmt::format("buckets \"{}\" needs \"count\"", rule.name));
    rule.min_size = read_size(f, t, "min-size");
  }
  if (rule.kind != LayerRule::Kind::alone && !valid_layer_name(rule.name))
    f.fail_at(t, fmt::format("invalid layer name \"{}\" (lower-case letters, digits, '-', '_' and '.')",
                             rule.name));
  return rule;
}

LayerPolicy read_policy(std::string_view text, std::string_view source_name) {
  auto parsed = lock::detail::parse_toml(text, source_name);
  if (!parsed) throw CommandError(parsed.error());
  const toml::table& doc = *parsed;
  TomlFields f{std::string(source_name)};
  f.check_keys(doc, {"policy-version", "max-layers", "learned-order", "rule"}, "the policy");
  auto version = f.opt_int(doc, "policy-version");
  if (!version) f.fail_at(doc, "missing \"policy-version\" in the policy");
  if (*version != kPolicyVersion)
    f.fail_at(*doc.get("policy-version"),
              fmt::format("unsupported policy-version {} (strata reads {})", *version, kPolicyVersion));
  LayerPolicy policy;
  if (doc.get("max-layers")) policy.max_layers = read_count(f, doc, "max-layers", 1, 125);
  policy.learned_order = f.opt_bool(doc, "learned-order").value_or(true);
  if (const toml::node* rules = doc.get("rule")) {
    const toml::array* array = rules->as_array();
    if (!array) f.fail_at(*rules, "expected an array of tables for \"rule\" ([[rule]])");
    for (const toml::node& node : *array)
      policy.rules.push_back(read_rule(f, f.as_table(node, "a [[rule]]"), policy.rules.size()));
  }
  std::set<std::string> names;
  for (const auto& rule : policy.rules) {
    if (rule.kind == LayerRule::Kind::alone) continue;
    if (!names.insert(rule.name).second)
      throw CommandError(ErrorKind::usage, fmt::format("{}: the layer name \"{}\" is used by two rules",
                                                       rule.location, rule.name));
  }
  auto fits = check_max_layers(policy, policy.max_layers, source_name);
  if (!fits) throw CommandError(fits.error());
  return policy;
}

bool glob_match(std::string_view pattern, std::string_view s) {
  // '*' matches any run of characters; iterative with backtracking to the last star.
  std::size_t p = 0, i = 0, star = std::string_view::npos, mark = 0;
  while (i < s.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = i;
    } else if (p < pattern.size() && pattern[p] == s[i]) {
      ++p;
      ++i;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      i = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

std::string source_class(const PlanInput& input) {
  const lock::Package& p = *input.package;
  if (p.source.kind != lock::SourceKind::index) return lock::to_string(p.source.kind);
  return input.private_source ? "private" : "";
}

bool group_takes(const LayerRule& rule, const PlanInput& input) {
  for (const auto& pattern : rule.packages)
    if (glob_match(pattern, input.package->name)) return true;
  std::string cls = source_class(input);
  return !cls.empty() && std::find(rule.sources.begin(), rule.sources.end(), cls) != rule.sources.end();
}

// ---- placement ----

struct Placement {
  std::size_t rule = 0;  ///< index into policy.rules; rules.size() = no rule took it
  std::string layer;
  std::string kind;
};

class Placer {
 public:
  Placer(const LayerPolicy& policy) : policy_(policy) {
    for (const auto& rule : policy.rules) {
      if (rule.kind == LayerRule::Kind::group) reserved_.insert(rule.name);
      if (rule.kind == LayerRule::Kind::buckets)
        for (std::size_t i = 0; i < rule.count; ++i) reserved_.insert(bucket_name(rule, i));
    }
  }

  static std::string bucket_name(const LayerRule& rule, std::size_t i) {
    return fmt::format("{}-{:02}", rule.name, i);
  }

  /// The first rule from `start` that takes the package; alone rules only when `alone_ok`.
  /// Returns an alone placement with an empty layer for a candidate (decided later).
  Placement place(const PlanInput& input, std::size_t start, bool alone_ok) const {
    std::uint64_t size = input.size.value_or(0);
    for (std::size_t r = start; r < policy_.rules.size(); ++r) {
      const LayerRule& rule = policy_.rules[r];
      switch (rule.kind) {
        case LayerRule::Kind::group:
          if (group_takes(rule, input)) {
            if (rule.each && alone_ok) return {r, "", "alone"};
            return {r, rule.name, "group"};
          }
          break;
        case LayerRule::Kind::alone:
          if (alone_ok && input.size && size >= rule.min_size) return {r, "", "alone"};
          break;
        case LayerRule::Kind::buckets:
          if (size >= rule.min_size)
            return {r, bucket_name(rule, bucket_of(input.package->name, rule.count)), "bucket"};
          break;
      }
    }
    return {policy_.rules.size(), "rest", "rest"};
  }

  /// An alone layer's name: the package's name, or "pkg-<name>" if a rule's layer has that name.
  std::string alone_name(const std::string& package) const {
    return reserved_.count(package) ? "pkg-" + package : package;
  }

  /// Layers the bucket rules may still create.
  std::size_t bucket_room(const std::set<std::string>& existing) const {
    std::size_t room = 0;
    for (const auto& rule : policy_.rules) {
      if (rule.kind != LayerRule::Kind::buckets) continue;
      for (std::size_t i = 0; i < rule.count; ++i) room += existing.count(bucket_name(rule, i)) ? 0 : 1;
    }
    return room;
  }

  std::size_t band(const Placement& p) const {
    if (p.rule < policy_.rules.size() && policy_.rules[p.rule].top) return policy_.rules.size() + 1;
    return p.rule;
  }

  bool is_group(std::size_t rule) const {
    return rule < policy_.rules.size() && policy_.rules[rule].kind == LayerRule::Kind::group;
  }

 private:
  const LayerPolicy& policy_;
  std::set<std::string> reserved_;
};

PlannedPackage planned(const PlanInput& input, std::string rule, std::uint64_t changes, std::uint64_t since) {
  return {input.package->name, input.package->version_text, input.size, input.size_source,
          std::move(rule),     input.source_name,           changes,    since};
}

void finish_layer(PlannedLayer& layer) {
  std::sort(layer.packages.begin(), layer.packages.end(),
            [](const PlannedPackage& a, const PlannedPackage& b) { return a.name < b.name; });
  layer.bytes = 0;
  for (const auto& p : layer.packages) layer.bytes += p.size.value_or(0);
}

// Bottom-to-top order of fresh layers: band, then larger first, then name.
auto order_key(const PlannedLayer& l) { return std::make_tuple(l.band, ~l.bytes, std::string_view(l.name)); }

// ---- plan.json ----

nlohmann::json to_json(const PlannedPackage& p) {
  return {{"name", p.name},
          {"version", p.version},
          {"size", p.size ? nlohmann::json(*p.size) : nlohmann::json(nullptr)},
          {"size-source", p.size_source.empty() ? "unknown" : p.size_source},
          {"rule", p.rule},
          {"source", p.source},
          {"changes", p.changes},
          {"since", p.since}};
}

template <class T>
T field(const nlohmann::json& j, const char* key, std::string_view where) {
  auto it = j.find(key);
  if (it == j.end()) throw CommandError(ErrorKind::usage, fmt::format("{}: missing \"{}\"", where, key));
  try {
    return it->get<T>();
  } catch (const nlohmann::json::exception&) {
    throw CommandError(ErrorKind::usage, fmt::format("{}: \"{}\" has the wrong type", where, key));
  }
}

LayerPlan parse_plan(std::string_view text, std::string_view source_name) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw CommandError(ErrorKind::usage, fmt::format("{}: not valid JSON at byte {}; re-plan with --fresh",
                                                     source_name, e.byte));
  }
  if (!doc.is_object())
    throw CommandError(ErrorKind::usage, fmt::format("{}: expected a JSON object", source_name));
  auto version = field<int>(doc, "plan-version", source_name);
  if (version != kPlanVersion)
    throw CommandError(ErrorKind::usage,
                       fmt::format("{}: unsupported plan-version {} (strata reads {}); re-plan "
                                   "with --fresh",
                                   source_name, version, kPlanVersion));
  LayerPlan plan;
  plan.generation = field<std::uint64_t>(doc, "generation", source_name);
  auto layers = field<nlohmann::json>(doc, "layers", source_name);
  if (!layers.is_array())
    throw CommandError(ErrorKind::usage, fmt::format("{}: \"layers\" is not an array", source_name));
  std::set<std::string> names, packages;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const auto& j = layers[i];
    std::string where = fmt::format("{}: layers[{}]", source_name, i);
    if (!j.is_object()) throw CommandError(ErrorKind::usage, fmt::format("{}: expected an object", where));
    PlannedLayer layer;
    layer.name = field<std::string>(j, "name", where);
    if (!valid_layer_name(layer.name) || !names.insert(layer.name).second)
      throw CommandError(ErrorKind::usage,
                         fmt::format("{}: invalid or repeated layer name \"{}\"", where, layer.name));
    layer.kind = field<std::string>(j, "kind", where);
    layer.band = field<std::size_t>(j, "band", where);
    layer.changes = field<std::uint64_t>(j, "changes", where);
    layer.since = field<std::uint64_t>(j, "since", where);
    layer.manifest_sha256 = field<std::string>(j, "manifest-sha256", where);
    auto pkgs = field<nlohmann::json>(j, "packages", where);
    if (!pkgs.is_array())
      throw CommandError(ErrorKind::usage, fmt::format("{}: \"packages\" is not an array", where));
    for (const auto& p : pkgs) {
      PlannedPackage pp;
      pp.name = field<std::string>(p, "name", where);
      if (!packages.insert(pp.name).second)
        throw CommandError(ErrorKind::usage,
                           fmt::format("{}: package \"{}\" is in two layers", where, pp.name));
      pp.version = field<std::string>(p, "version", where);
      pp.rule = field<std::string>(p, "rule", where);
      pp.source = field<std::string>(p, "source", where);
      // Plans written before packages had change counts: none seen, there since the layer was.
      pp.changes = p.contains("changes") ? field<std::uint64_t>(p, "changes", where) : 0;
      pp.since = p.contains("since") ? field<std::uint64_t>(p, "since", where) : layer.since;
      layer.packages.push_back(std::move(pp));
    }
    plan.layers.push_back(std::move(layer));
  }
  return plan;
}

}  // namespace

std::string LayerRule::describe(std::size_t index) const {
  switch (kind) {
    case Kind::group:
      return fmt::format("rule {}: group {}{}", index + 1, name, each ? ", each alone" : "");
    case Kind::alone:
      return fmt::format("rule {}: alone, at least {} bytes", index + 1, min_size);
    case Kind::buckets:
      return fmt::format("rule {}: {} buckets {}, at least {} bytes", index + 1, count, name, min_size);
  }
  return {};
}

std::string PlannedLayer::file_name(std::size_t position) const {
  return fmt::format("{:02}-{}.toml", position, name);
}

Result<LayerPolicy> parse_policy(std::string_view text, std::string_view source_name) {
  return lock::detail::catch_errors([&] { return read_policy(text, source_name); });
}

Result<void> check_max_layers(const LayerPolicy& policy, std::size_t max_layers,
                              std::string_view source_name) {
  std::size_t needed = 1;  // a layer for packages no rule takes
  for (const auto& rule : policy.rules) {
    if (rule.kind == LayerRule::Kind::group) needed += 1;
    if (rule.kind == LayerRule::Kind::buckets) needed += rule.count;
  }
  if (max_layers < needed)
    return fail(ErrorKind::usage,
                fmt::format("{}: its groups and buckets need {} layers, more than the maximum of {}",
                            source_name, needed, max_layers));
  return {};
}

std::size_t bucket_of(std::string_view name, std::size_t count) {
  std::uint64_t h = 14695981039346656037ull;
  for (char c : name) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return count == 0 ? 0 : static_cast<std::size_t>(h % count);
}

LayerPlan assign_layers(const std::vector<PlanInput>& inputs, const LayerPolicy& policy,
                        const std::optional<LayerPlan>& previous) {
  Placer placer(policy);
  std::vector<const PlanInput*> sorted;
  for (const auto& input : inputs) sorted.push_back(&input);
  std::sort(sorted.begin(), sorted.end(),
            [](const PlanInput* a, const PlanInput* b) { return a->package->name < b->package->name; });
  std::map<std::string, const PlanInput*> by_name;
  for (const PlanInput* input : sorted) by_name.emplace(input->package->name, input);

  LayerPlan plan;
  std::set<std::string> placed, existing;
  if (previous) {
    plan.generation = previous->generation;
    for (const auto& old : previous->layers) {
      PlannedLayer layer{.name = old.name,
                         .kind = old.kind,
                         .band = old.band,
                         .packages = {},
                         .bytes = 0,
                         .changes = old.changes,
                         .since = old.since,
                         .manifest_sha256 = old.manifest_sha256};
      for (const auto& p : old.packages) {
        auto it = by_name.find(p.name);
        if (it == by_name.end()) continue;
        layer.packages.push_back(planned(*it->second, p.rule, p.changes, p.since));
        placed.insert(p.name);
      }
      if (layer.packages.empty()) continue;
      finish_layer(layer);
      existing.insert(layer.name);
      plan.layers.push_back(std::move(layer));
    }
  }

  // New packages: first every rule but "alone"; alone candidates get what room is left, largest
  // first, and the rest go on to the rules after their alone rule.
  std::map<std::string, PlannedLayer> fresh;
  auto add = [&](const PlanInput& input, const Placement& p) {
    auto* layer = [&]() -> PlannedLayer* {
      for (auto& l : plan.layers)
        if (l.name == p.layer) return &l;
      auto [it, added] = fresh.try_emplace(p.layer);
      if (added) {
        it->second.name = p.layer;
        it->second.kind = p.kind;
        it->second.band = placer.band(p);
      }
      return &it->second;
    }();
    std::string rule =
        p.rule < policy.rules.size() ? policy.rules[p.rule].describe(p.rule) : "no rule took it";
    layer->packages.push_back(planned(input, std::move(rule), 0, previous ? previous->generation + 1 : 0));
  };
  // A group layer not there yet opens only while the bound leaves room beside the buckets'
  // layers; otherwise the package goes on to the next rules.
  auto can_open = [&](const std::string& name) {
    std::set<std::string> now;
    for (const auto& l : plan.layers) now.insert(l.name);
    for (const auto& [n, l] : fresh) now.insert(n);
    return now.count(name) || now.size() + placer.bucket_room(now) < policy.max_layers;
  };
  std::vector<std::pair<const PlanInput*, std::size_t>> candidates;
  for (const PlanInput* input : sorted) {
    if (placed.count(input->package->name)) continue;
    Placement p = placer.place(*input, 0, true);
    while (p.kind == "group" && !can_open(p.layer)) p = placer.place(*input, p.rule + 1, true);
    if (p.kind == "alone")
      candidates.emplace_back(input, p.rule);
    else
      add(*input, p);
  }
  // Group members (`each`) first, in rule order; then the alone rules' candidates, largest first.
  auto candidate_key = [&](const std::pair<const PlanInput*, std::size_t>& c) {
    bool group = placer.is_group(c.second);
    return std::make_tuple(!group, group ? c.second : 0, ~c.first->size.value_or(0),
                           std::string_view(c.first->package->name));
  };
  std::sort(candidates.begin(), candidates.end(),
            [&](const auto& a, const auto& b) { return candidate_key(a) < candidate_key(b); });
  for (const auto& [name, layer] : fresh) existing.insert(name);
  std::size_t reserve = 0;
  if (!previous)
    for (const auto& rule : policy.rules) reserve += rule.kind == LayerRule::Kind::alone ? rule.reserve : 0;
  std::size_t used = existing.size() + placer.bucket_room(existing) + reserve;
  std::size_t room = policy.max_layers > used ? policy.max_layers - used : 0;
  // A group's members take alone layers while that leaves one for the group's shared layer if
  // more of them remain; the rest share it.
  std::map<std::size_t, std::size_t> group_left;
  for (const auto& [input, rule] : candidates)
    if (placer.is_group(rule)) ++group_left[rule];
  auto layer_exists = [&](const std::string& name) {
    return fresh.count(name) || std::any_of(plan.layers.begin(), plan.layers.end(),
                                            [&](const PlannedLayer& l) { return l.name == name; });
  };
  for (const auto& [input, rule] : candidates) {
    const bool group = placer.is_group(rule);
    const std::size_t left = group ? group_left[rule]-- : 0;  // this one included
    const bool shared = group && layer_exists(policy.rules[rule].name);
    if (room > 0 && (!group || shared || left == 1 || room > 1)) {
      --room;
      add(*input, {rule, placer.alone_name(input->package->name), "alone"});
    } else if (group && (shared || room > 0 || can_open(policy.rules[rule].name))) {
      if (!shared && room > 0) --room;
      add(*input, {rule, policy.rules[rule].name, "group"});
    } else {
      add(*input, placer.place(*input, rule + 1, false));
    }
  }

  // New layers: all of them ordered by band and size for a fresh plan; on a re-plan above the kept
  // ones (order_rebuilt_layers sorts them into the part Docker rebuilds), or without a learned
  // order one by one below the first kept layer that sorts after them.
  std::vector<PlannedLayer> added;
  for (auto& [name, layer] : fresh) {
    finish_layer(layer);
    layer.since = plan.generation;
    added.push_back(std::move(layer));
  }
  for (auto& layer : plan.layers) finish_layer(layer);
  std::sort(added.begin(), added.end(),
            [](const auto& a, const auto& b) { return order_key(a) < order_key(b); });
  if (previous && policy.learned_order) {
    for (auto& layer : added) plan.layers.push_back(std::move(layer));
    return plan;
  }
  for (auto& layer : added) {
    auto key = order_key(layer);
    auto pos = std::find_if(plan.layers.begin(), plan.layers.end(),
                            [&](const auto& l) { return key < order_key(l); });
    plan.layers.insert(pos, std::move(layer));
  }
  return plan;
}

void record_changes(LayerPlan& plan, const std::optional<LayerPlan>& previous) {
  if (!previous) return;
  std::map<std::string, std::pair<std::size_t, std::string>> before;  // name -> position, sha
  for (std::size_t i = 0; i < previous->layers.size(); ++i)
    before[previous->layers[i].name] = {i, previous->layers[i].manifest_sha256};
  bool changed = plan.layers.size() != previous->layers.size();
  for (std::size_t i = 0; i < plan.layers.size(); ++i) {
    auto it = before.find(plan.layers[i].name);
    if (it == before.end() || it->second.first != i || it->second.second != plan.layers[i].manifest_sha256)
      changed = true;
  }
  if (!changed) return;
  plan.generation = previous->generation + 1;
  std::map<std::string_view, std::string_view> versions;
  for (const auto& layer : previous->layers)
    for (const auto& p : layer.packages) versions[p.name] = p.version;
  for (auto& layer : plan.layers) {
    auto it = before.find(layer.name);
    if (it == before.end())
      layer.since = plan.generation;
    else if (it->second.second != layer.manifest_sha256)
      ++layer.changes;
    for (auto& p : layer.packages) {
      auto v = versions.find(p.name);
      if (v == versions.end())
        p.since = plan.generation;
      else if (v->second != p.version)
        ++p.changes;
    }
  }
}

void order_rebuilt_layers(LayerPlan& plan, const std::optional<LayerPlan>& previous,
                          const LayerPolicy& policy) {
  if (!previous || !policy.learned_order) return;
  std::size_t lowest = 0;
  while (lowest < plan.layers.size() && lowest < previous->layers.size() &&
         plan.layers[lowest].name == previous->layers[lowest].name &&
         plan.layers[lowest].manifest_sha256 == previous->layers[lowest].manifest_sha256)
    ++lowest;
  if (lowest == plan.layers.size()) return;
  // Each package's chance to change in a re-plan: its changes over the re-plans it has been in,
  // shrunk towards the plan-wide rate (itself shrunk towards 1 in 10) by a prior worth 10 re-plans,
  // so a package seen once or never is judged mostly by the plan as a whole.
  constexpr double kPriorPlans = 10.0, kPriorRate = 0.1;
  const std::uint64_t now = previous->generation + 1;
  auto age = [&](const PlannedPackage& p) { return static_cast<double>(now > p.since ? now - p.since : 0); };
  double changes = 0, plans = 0;
  for (const auto& layer : plan.layers)
    for (const auto& p : layer.packages) {
      changes += static_cast<double>(p.changes);
      plans += age(p);
    }
  const double overall = (changes + 1.0) / (plans + 1.0 / kPriorRate);
  auto odds_per_byte = [&](const PlannedLayer& layer) {
    double stays = 1.0;
    for (const auto& p : layer.packages) {
      double rate = (static_cast<double>(p.changes) + kPriorPlans * overall) / (age(p) + kPriorPlans);
      stays *= 1.0 - std::min(rate, 0.95);
    }
    return (1.0 - stays) / stays / static_cast<double>(std::max<std::uint64_t>(layer.bytes, 1));
  };
  // Sorting by odds per byte minimises the bytes rebuilt above the lowest changed layer when
  // layers change independently: i below j is better exactly when odds_i / bytes_i < odds_j / bytes_j.
  std::vector<std::tuple<bool, double, std::string, PlannedLayer>> rebuilt;
  for (std::size_t i = lowest; i < plan.layers.size(); ++i) {
    PlannedLayer& layer = plan.layers[i];
    bool top = layer.band > policy.rules.size();
    double key = odds_per_byte(layer);
    std::string name = layer.name;
    rebuilt.emplace_back(top, key, std::move(name), std::move(layer));
  }
  std::sort(rebuilt.begin(), rebuilt.end(), [](const auto& a, const auto& b) {
    return std::tie(std::get<0>(a), std::get<1>(a), std::get<2>(a)) <
           std::tie(std::get<0>(b), std::get<1>(b), std::get<2>(b));
  });
  plan.layers.resize(lowest);
  for (auto& entry : rebuilt) plan.layers.push_back(std::move(std::get<3>(entry)));
}

std::string plan_json(const LayerPlan& plan, std::string_view policy_sha256) {
  nlohmann::json layers = nlohmann::json::array();
  std::uint64_t bytes = 0;
  std::size_t packages = 0, unknown = 0;
  for (std::size_t i = 0; i < plan.layers.size(); ++i) {
    const PlannedLayer& l = plan.layers[i];
    nlohmann::json pkgs = nlohmann::json::array();
    for (const auto& p : l.packages) {
      pkgs.push_back(to_json(p));
      unknown += p.size ? 0 : 1;
    }
    layers.push_back({{"position", i},
                      {"file", l.file_name(i)},
                      {"name", l.name},
                      {"kind", l.kind},
                      {"band", l.band},
                      {"bytes", l.bytes},
                      {"changes", l.changes},
                      {"since", l.since},
                      {"manifest-sha256", l.manifest_sha256},
                      {"packages", pkgs}});
    bytes += l.bytes;
    packages += l.packages.size();
  }
  nlohmann::json doc{{"plan-version", kPlanVersion},
                     {"generation", plan.generation},
                     {"policy-sha256", std::string(policy_sha256)},
                     {"bytes", bytes},
                     {"packages", packages},
                     {"unknown-sizes", unknown},
                     {"layers", layers}};
  return doc.dump(2) + "\n";
}

Result<LayerPlan> read_plan_json(std::string_view text, std::string_view source_name) {
  try {
    return parse_plan(text, source_name);
  } catch (const CommandError& e) {
    return std::unexpected(e.error());
  }
}

}  // namespace strata::plan
