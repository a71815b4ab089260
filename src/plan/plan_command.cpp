#include "plan/plan_command.hpp"

#include <filesystem>
#include <map>
#include <regex>
#include <set>

#include <fmt/format.h>

#include "fetch/hash.hpp"
#include "fetch/url.hpp"
#include "lock/manifest.hpp"
#include "plan/dockerfile.hpp"
#include "plan/index_sizes.hpp"
#include "plan/layers.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

namespace strata::plan {
namespace fs = std::filesystem;
namespace {

std::string sha256_of(std::string_view text) {
  fetch::Sha256 sha;
  sha.update(text);
  return sha.hex_digest();
}

LayerPolicy load_policy(const PlanCommandOptions& o, std::string& digest) {
  std::string text, name = "layers/default.toml (built in)";
  if (o.policy.empty()) {
    text = std::string(default_policy_text());
  } else {
    text = value_or_throw(util::read_file(o.policy));
    name = o.policy;
  }
  digest = sha256_of(text);
  LayerPolicy policy = value_or_throw(parse_policy(text, name));
  if (o.max_layers != 0) {
    value_or_throw(check_max_layers(policy, o.max_layers, name));
    policy.max_layers = o.max_layers;
  }
  return policy;
}

std::optional<LayerPlan> load_previous(const fs::path& file, bool fresh) {
  std::error_code ec;
  if (fresh || !fs::exists(file, ec)) return std::nullopt;
  std::string text = value_or_throw(util::read_file(file));
  return value_or_throw(read_plan_json(text, file.string()));
}

bool is_default_index(const std::string& url) {
  if (url.empty()) return true;
  std::string host = fetch::url_hostname(url);
  return host == "pypi.org" || host == "files.pythonhosted.org";
}

// A/B as the path from `from` to `to`, generic separators; "" when they are the same directory.
// An empty path is the current directory (the parent of a lock given as a bare file name).
std::string relative_path(const fs::path& to, const fs::path& from) {
  auto absolute = [](const fs::path& p) {
    return fs::absolute(p.empty() ? fs::path(".") : p).lexically_normal();
  };
  fs::path rel = absolute(to).lexically_relative(absolute(from));
  std::string s = rel.generic_string();
  return s == "." ? "" : s;
}

// Removes manifests of an earlier plan that the new plan no longer has.
void remove_stale_manifests(const fs::path& dir, const std::set<std::string>& keep) {
  static const std::regex manifest_name(R"([0-9]{2,}-[a-z0-9][a-z0-9._-]*\.toml)");
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    std::string name = entry.path().filename().string();
    if (keep.count(name) || !std::regex_match(name, manifest_name) || !entry.is_regular_file(ec)) continue;
    auto text = util::read_file(entry.path());
    if (text && lock::looks_like_manifest(*text)) fs::remove(entry.path(), ec);
  }
}

void write(const fs::path& path, std::string_view text) {
  value_or_throw(util::write_file_atomic(path, text, util::Durability::process_crash));
}

std::vector<std::string> selection_flags(const PlanRequest& r) {
  std::vector<std::string> out;
  auto add = [&](const char* flag, const std::vector<std::string>& values) {
    if (!values.empty()) out.push_back(fmt::format("{} {}", flag, util::join(values, ",")));
  };
  add("--only", r.only);
  add("--with", r.with);
  add("--without", r.without);
  add("--extras", r.extras);
  if (r.all_extras) out.emplace_back("--all-extras");
  add("--package", r.packages);
  if (r.all_packages) out.emplace_back("--all-packages");
  return out;
}

std::string megabytes(std::uint64_t bytes) {
  return fmt::format("{:.1f} MB", static_cast<double>(bytes) / 1e6);
}

// Sizes the lock lacks, from the index's project pages (or their cached sizes): the chosen
// wheel's file, else the largest locked wheel. Only index packages are looked up. Manifests stay
// lock-derived: these sizes decide placement and appear in plan.json only.
SizeLookupStats add_index_sizes(const PlanCommandOptions& o, const Plan& plan,
                                std::vector<PlanInput>& inputs) {
  std::map<std::string, const ChosenWheel*> chosen;
  for (const auto& c : plan.choices.chosen) chosen[c.package->name] = &c;
  std::vector<SizeQuery> queries;
  std::vector<std::size_t> query_input;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const lock::Package& p = *inputs[i].package;
    if (inputs[i].size || p.source.kind != lock::SourceKind::index) continue;
    SizeQuery query;
    if (auto it = chosen.find(p.name); it != chosen.end()) {
      query.request = it->second->request;
      query.filenames = {it->second->artifact->filename};
    } else {
      for (const auto& a : p.artifacts) {
        if (!a.filename.ends_with(".whl")) continue;
        if (query.filenames.empty())
          query.request = request_for(plan.lock, p, a, plan.files.lock.parent_path());
        query.filenames.push_back(a.filename);
      }
      if (query.filenames.empty()) continue;
    }
    queries.push_back(std::move(query));
    query_input.push_back(i);
  }
  SizeLookupStats stats;
  if (queries.empty()) return stats;
  fetch::FetchOptions fetch;
  fetch.index_url = o.index_url;
  fetch.source_urls = value_or_throw(parse_source_overrides(o.sources));
  fetch.offline = o.offline;
  fetch.cache_dir = plan.cache_root;
  auto sizes = index_sizes(queries, fetch, stats);
  for (std::size_t q = 0; q < queries.size(); ++q) {
    if (!sizes[q]) continue;
    inputs[query_input[q]].size = sizes[q];
    inputs[query_input[q]].size_source = "index";
  }
  return stats;
}

}  // namespace

PlanCommandReport run_plan_command(const PlanCommandOptions& o, PlanObserver& observer) {
  if (o.out.empty())
    throw CommandError(ErrorKind::usage, "strata plan needs --out DIR: where the layer plan goes");
  std::string policy_digest;
  const LayerPolicy policy = load_policy(o, policy_digest);

  PlanRequest request = o.request;
  request.overlay = false;
  request.index.index_url = o.index_url;
  request.index.source_urls = value_or_throw(parse_source_overrides(o.sources));
  request.index.offline = o.offline;
  Plan plan = prepare(request, observer);
  PlanCommandReport report;
  // A package without a wheel for the target is still placed (with its locked file's size): the
  // plan is about layers, and `install --layer` reports what it cannot install.
  for (const auto& problem : plan.choices.problems) {
    observer.on_warning(fmt::format("{} (planned anyway)", problem));
    report.warnings.push_back(problem);
  }

  // Sizes: the chosen wheel's size where the lock has it, else unknown (treated as small).
  std::map<std::string, std::size_t> chosen_index;
  for (std::size_t i = 0; i < plan.choices.chosen.size(); ++i)
    chosen_index[plan.choices.chosen[i].package->name] = i;
  std::vector<PlanInput> inputs;
  std::map<std::string, const lock::Package*> packages;
  for (const auto& p : plan.selection.packages) {
    PlanInput input;
    input.package = &p;
    packages[p.name] = &p;
    if (auto it = chosen_index.find(p.name); it != chosen_index.end()) {
      const ChosenWheel& chosen = plan.choices.chosen[it->second];
      input.size = chosen.artifact->size;
      input.size_source = chosen.artifact->size ? "lock" : "";
      input.source_name = chosen.request.source_name;
    } else {
      input.source_name = p.source.name;
      if (p.artifacts.size() == 1) input.size = p.artifacts.front().size;
      input.size_source = input.size ? "lock" : "";
    }
    input.private_source = p.source.kind == lock::SourceKind::index && !is_default_index(p.source.url);
    inputs.push_back(std::move(input));
  }
  const SizeLookupStats size_stats = add_index_sizes(o, plan, inputs);
  for (const auto& warning : size_stats.warnings) {
    observer.on_warning(warning);
    report.warnings.push_back(warning);
  }

  const fs::path out = o.out;
  value_or_throw(util::DirMaker().ensure(out));
  const fs::path plan_file = out / "plan.json";
  const std::optional<LayerPlan> previous = load_previous(plan_file, o.fresh);
  LayerPlan layers = assign_layers(inputs, policy, previous);

  // Manifests: relative paths of the lock resolve against the plan directory. Each names the
  // project (the owner an install of the lock would have): a layer of another project's plan is
  // another owner.
  const std::string prefix = relative_path(plan.files.lock.parent_path(), out);
  const std::string project = plan.lock.format == lock::Format::manifest
                                  ? plan.lock.layer_project
                                  : owner_for(request, plan.files, plan.lock, observer);
  // A manifest's bytes do not depend on its position, so the layers Docker rebuilds anyway can
  // be ordered once every manifest is known.
  std::map<std::string, std::string> texts;
  for (PlannedLayer& layer : layers.layers) {
    std::vector<const lock::Package*> members;
    for (const auto& p : layer.packages) members.push_back(packages.at(p.name));
    std::string text = lock::write_manifest(plan.lock, project, layer.name, members, prefix);
    layer.manifest_sha256 = sha256_of(text);
    texts[layer.name] = std::move(text);
  }
  order_rebuilt_layers(layers, previous, policy);
  record_changes(layers, previous);
  std::vector<std::pair<std::string, std::string>> manifests;
  for (std::size_t i = 0; i < layers.layers.size(); ++i)
    manifests.emplace_back(layers.layers[i].file_name(i), std::move(texts.at(layers.layers[i].name)));

  std::set<std::string> names;
  std::map<std::string, std::string> before;
  if (previous)
    for (std::size_t i = 0; i < previous->layers.size(); ++i)
      before[previous->layers[i].file_name(i)] = previous->layers[i].manifest_sha256;
  nlohmann::json changed = nlohmann::json::array();
  for (std::size_t i = 0; i < manifests.size(); ++i) {
    const auto& [file, text] = manifests[i];
    names.insert(file);
    write(out / file, text);
    auto it = before.find(file);
    if (it == before.end() || it->second != layers.layers[i].manifest_sha256) changed.push_back(file);
  }
  remove_stale_manifests(out, names);
  const std::string plan_text = plan_json(layers, policy_digest);
  write(plan_file, plan_text);

  DockerfileOptions docker;
  docker.layers_dir = relative_path(out, o.context);
  for (const auto& f : {plan.files.lock, plan.files.pyproject})
    if (!f.empty()) docker.lock_files.push_back(relative_path(f, o.context));
  docker.env = o.image_env;
  docker.strata_image = o.strata_image;
  docker.selection = selection_flags(o.request);
  docker.secrets = o.secrets;
  const std::string fragment = dockerfile_fragment(layers, docker);
  write(out / "Dockerfile.layers", fragment);
  nlohmann::json dockerfile_json;
  if (!o.dockerfile.empty()) {
    std::string app = value_or_throw(util::read_file(o.dockerfile));
    std::string complete = value_or_throw(complete_dockerfile(app, o.dockerfile, fragment));
    fs::path target = o.dockerfile_out.empty() ? out / "Dockerfile" : fs::path(o.dockerfile_out);
    write(target, complete);
    dockerfile_json = target.string();
  }

  std::uint64_t bytes = 0;
  std::size_t count = 0, unknown = 0;
  for (std::size_t i = 0; i < layers.layers.size(); ++i) {
    const auto& l = layers.layers[i];
    bytes += l.bytes;
    count += l.packages.size();
    for (const auto& p : l.packages) unknown += p.size ? 0 : 1;
    report.lines.push_back(
        fmt::format("  {:<32} {:>4} packages {:>10}", l.file_name(i), l.packages.size(), megabytes(l.bytes)));
  }
  report.summary = fmt::format("Planned {} packages ({}{}) into {} layers in {}: {} manifests changed", count,
                               megabytes(bytes), unknown ? fmt::format(", {} sizes unknown", unknown) : "",
                               layers.layers.size(), out.string(), changed.size());
  report.json = {{"out", out.string()},
                 {"warnings", report.warnings},
                 {"plan", nlohmann::json::parse(plan_text)},
                 {"changed", changed},
                 {"sizes", {{"from_cache", size_stats.from_cache}, {"index_requests", size_stats.requested}}},
                 {"dockerfile_layers", (out / "Dockerfile.layers").string()},
                 {"dockerfile", dockerfile_json}};
  return report;
}

}  // namespace strata::plan
