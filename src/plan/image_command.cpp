#include "plan/image_command.hpp"

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <system_error>

#include <fmt/format.h>

#include "env/cache_dir.hpp"
#include "env/ledger.hpp"
#include "env/target_spec.hpp"
#include "env/venv.hpp"
#include "fetch/curl_transport.hpp"
#include "oci/base.hpp"
#include "oci/image.hpp"
#include "oci/layer.hpp"
#include "oci/layout.hpp"
#include "oci/reference.hpp"
#include "oci/registry.hpp"
#include "plan/image_base_env.hpp"
#include "plan/layers.hpp"
#include "plan/plan_command.hpp"
#include "util/counts.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"
#include "wheel/replaced.hpp"

namespace strata::plan {
namespace fs = std::filesystem;
namespace {

/// A scratch directory under the cache, removed when the command ends.
class Scratch {
 public:
  explicit Scratch(util::TempDir dir) : dir_(std::move(dir)) {}
  ~Scratch() { util::remove_tree(dir_.path()); }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  const fs::path& path() const { return dir_.path(); }

 private:
  util::TempDir dir_;
};

void check_options(const ImageOptions& o) {
  if (o.base.empty())
    throw CommandError(ErrorKind::usage, "strata image needs --base BASE: the image the layers go on");
  if (o.out.empty() && o.push.empty())
    throw CommandError(ErrorKind::usage,
                       "strata image needs --out oci:DIR[:TAG] or --push REF: where the image goes");
  if (!o.out.empty() && !o.out.starts_with("oci:"))
    throw CommandError(ErrorKind::usage, fmt::format("--out {}: expected oci:DIR[:TAG]", o.out));
  if (!o.request.env.starts_with("/"))
    throw CommandError(
        ErrorKind::usage,
        fmt::format("--env {}: the environment's path inside the image must be absolute", o.request.env));
}

/// Registry progress as phase lines: one per blob moved (uploaded, mounted, downloaded).
class RegistryProgress : public oci::RegistryObserver {
 public:
  explicit RegistryProgress(InstallObserver& observer) : observer_(observer) {}
  void blob_done(const oci::BlobReport& r) override {
    observer_.on_phase(fmt::format("  {} {} ({}){}", oci::to_string(r.action), r.blob.digest.substr(0, 19),
                                   util::human_size(r.blob.size),
                                   r.mounted_from.empty() ? "" : " from " + r.mounted_from));
  }

 private:
  InstallObserver& observer_;
};

/// The registry client of one run (a registry base, --push), made when first needed.
class Registries {
 public:
  Registries(const ImageOptions& o, const fs::path& cache_root, InstallObserver& observer)
      : progress_(observer) {
    options_.insecure_registries = o.insecure_registries;
    if (!o.creds_file.empty()) options_.creds_file = fs::path(o.creds_file);
    // Which repositories hold which blobs, across runs: a base pulled from a registry is mounted
    // into the pushed repository instead of uploaded again.
    options_.blob_sources_file = cache_root / "oci" / "blob-sources.json";
  }
  oci::RegistryClient& client() {
    if (!client_) {
      curl_options_ = value_or_throw(fetch::curl_options_from_env());
      client_.emplace(oci::curl_transport_factory(curl_, curl_options_), options_, fetch::process_env(),
                      &progress_);
    }
    return *client_;
  }

 private:
  RegistryProgress progress_;
  oci::RegistryOptions options_;
  fetch::CurlGlobal curl_;
  fetch::CurlOptions curl_options_;
  std::optional<oci::RegistryClient> client_;
};

/// The push's outcome per blob, by digest.
std::map<std::string, const oci::BlobReport*> by_digest(const oci::TransferReport& r) {
  std::map<std::string, const oci::BlobReport*> out;
  for (const auto& b : r.blobs) out.emplace(b.blob.digest, &b);
  return out;
}

/// A host interpreter of the base's X.Y: --python, else python3.X on PATH, in /usr/local/bin or
/// /usr/bin. It computes the target's markers and tags and compiles the bytecode.
std::optional<env::Interpreter> host_python(const ImageOptions& o, const oci::BaseTarget& t,
                                            const env::ProbeOptions& probe) {
  const std::string name = fmt::format("python{}.{}", t.major, t.minor);
  std::vector<std::string> candidates;
  if (!o.python.empty())
    candidates.push_back(o.python);
  else
    candidates = {name, "/usr/local/bin/" + name, "/usr/bin/" + name};
  for (const auto& c : candidates) {
    auto found = env::detail::resolve_interpreter(c);
    if (!found) continue;
    auto interpreter = env::probe_interpreter(found->string(), probe);
    if (!interpreter) {
      if (!o.python.empty()) throw CommandError(interpreter.error());
      continue;
    }
    if (interpreter->major != t.major || interpreter->minor != t.minor ||
        interpreter->implementation != "cpython") {
      if (!o.python.empty())
        throw CommandError(ErrorKind::usage,
                           fmt::format("--python {}: is {} {}, the base's is CPython {}", o.python,
                                       interpreter->implementation, interpreter->version, t.full_version));
      continue;
    }
    return *interpreter;
  }
  if (!o.python.empty())
    throw CommandError(ErrorKind::usage, fmt::format("--python {}: not found", o.python));
  return std::nullopt;
}

/// The wheel platform of the base: its config's architecture (and variant) with its C library,
/// e.g. manylinux_2_36_aarch64 for a linux/arm64 Debian 12 image.
std::string base_platform_tag(const oci::BaseImage& base, const oci::BaseTarget& t) {
  std::string machine = base.config.value("architecture", std::string());
  if (machine.empty()) machine = oci::host_platform().architecture;
  if (const std::string variant = base.config.value("variant", std::string()); !variant.empty())
    machine += "/" + variant;
  return env::platform_tag(machine, t.glibc, t.musl);
}

/// The image's environment as an interpreter, computed and never run (env::describe_interpreter):
/// the base's version and platform (architecture, C library), its sysconfig, and the venv's scheme.
env::Interpreter target_interpreter(const oci::BaseTarget& t, const std::string& platform,
                                    const oci::BaseFiles& files, const fs::path& venv,
                                    const BaseEnvironment& base_env) {
  env::TargetSpec spec;
  spec.python_version = t.full_version;
  spec.platform = platform;
  spec.prefix = t.prefix;
  spec.executable = t.python;
  env::Interpreter i = value_or_throw(env::describe_interpreter(spec));
  const std::string xy = fmt::format("{}.{}", t.major, t.minor);
  i.executable = venv / "bin" / "python";
  i.sys_executable = t.python;
  i.real_executable = "/" + files.resolve(t.python).value_or(t.python.substr(1));
  i.version = t.full_version;
  auto parts = util::split(t.full_version, '.');
  i.major = t.major;
  i.minor = t.minor;
  i.micro = parts.size() > 2 ? std::atoi(std::string(parts[2]).c_str()) : 0;
  i.prefix = i.exec_prefix = venv;
  i.base_prefix = i.base_exec_prefix = t.prefix;
  i.in_venv = true;
  const std::string site = (venv / "lib" / ("python" + xy) / "site-packages").string();
  i.paths = {{"purelib", site},
             {"platlib", site},
             {"scripts", (venv / "bin").string()},
             {"data", venv.string()},
             {"include", fmt::format("{}/include/python{}", t.prefix, xy)},
             {"platinclude", fmt::format("{}/include/python{}", t.prefix, xy)},
             {"headers", (venv / "include" / "site" / ("python" + xy)).string()},
             {"stdlib", t.stdlib},
             {"platstdlib", t.stdlib}};
  i.site_dirs = base_env.exists ? base_env.site_dirs : std::vector<fs::path>{site};
  i.markers["python_full_version"] = t.full_version;
  i.markers["python_version"] = xy;
  i.markers["implementation_version"] = t.full_version;
  i.tag_env.major = t.major;
  i.tag_env.minor = t.minor;
  i.tag_env.glibc = t.glibc;
  i.tag_env.musl = t.musl;
  if (auto it = t.sysconfig.find("SOABI"); it != t.sysconfig.end()) i.tag_env.soabi = it->second;
  if (auto it = t.sysconfig.find("EXT_SUFFIX"); it != t.sysconfig.end()) i.tag_env.ext_suffix = it->second;
  if (auto it = t.sysconfig.find("py_version_nodot"); it != t.sysconfig.end())
    i.tag_env.py_version_nodot = it->second;
  if (auto it = t.sysconfig.find("Py_DEBUG"); it != t.sysconfig.end()) i.tag_env.py_debug = it->second == "1";
  return i;
}

/// A layer of `strata plan`'s plan: its manifest's file name and its packages.
struct PlannedImageLayer {
  std::string file;
  std::string name;
  std::vector<std::string> packages;
};

std::vector<PlannedImageLayer> planned_layers(const nlohmann::json& plan) {
  const LayerPlan layers = value_or_throw(read_plan_json(plan.dump(), "plan.json"));
  std::vector<PlannedImageLayer> out;
  for (std::size_t i = 0; i < layers.layers.size(); ++i) {
    PlannedImageLayer l{layers.layers[i].file_name(i), layers.layers[i].name, {}};
    for (const auto& p : layers.layers[i].packages) l.packages.push_back(p.name);
    out.push_back(std::move(l));
  }
  return out;
}

std::string entry_path(const fs::path& absolute) { return absolute.relative_path().generic_string(); }

/// The staged files of one prepared wheel as layer entries at their destinations.
void add_staged(const wheel::PreparedWheel& prepared, std::vector<oci::LayerEntry>& out) {
  auto add_one = [&](const fs::path& staged, const fs::path& dest) {
    std::error_code ec;
    auto st = fs::symlink_status(staged, ec);
    oci::LayerEntry e;
    e.path = entry_path(dest);
    if (fs::is_symlink(st)) {
      e.type = oci::LayerEntry::Type::symlink;
      e.link = fs::read_symlink(staged, ec).string();
    } else if (fs::is_directory(st)) {
      e.type = oci::LayerEntry::Type::directory;
    } else {
      e.type = oci::LayerEntry::Type::file;
      e.source = staged;
      e.executable = (static_cast<unsigned>(st.permissions()) & 0111) != 0;
      e.read_only = (static_cast<unsigned>(st.permissions()) & 0222) == 0;
    }
    out.push_back(std::move(e));
  };
  for (const auto& [staged, dest] : prepared.staged()) {
    add_one(staged, dest);
    std::error_code ec;
    if (!fs::is_directory(fs::symlink_status(staged, ec))) continue;
    for (auto it = fs::recursive_directory_iterator(staged, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
      add_one(it->path(), dest / it->path().lexically_relative(staged));
  }
}

nlohmann::json layer_json(const oci::WrittenLayer& l, std::string_view kind, std::string_view name) {
  return {{"kind", kind},
          {"name", name},
          {"diff_id", l.diff_id},
          {"digest", l.descriptor.digest},
          {"size", l.descriptor.size},
          {"media_type", l.descriptor.media_type},
          {"entries", l.entries},
          {"reused_blob", l.reused}};
}

}  // namespace

ImageReport run_image(const ImageOptions& o, InstallObserver& observer) {
  check_options(o);
  std::optional<oci::Reference> push_ref;
  if (!o.push.empty()) {
    auto ref = oci::Reference::parse(o.push);
    if (!ref) throw CommandError(ErrorKind::usage, fmt::format("--push {}: {}", o.push, ref.error().message));
    if (!ref->digest.empty())
      throw CommandError(ErrorKind::usage,
                         fmt::format("--push {}: push to a tag (REGISTRY/REPO[:TAG]), not a digest", o.push));
    push_ref = *ref;
  }
  const fs::path venv = fs::path(o.request.env).lexically_normal();
  const oci::Compression compression = value_or_throw(oci::parse_compression(o.compression));
  const oci::Platform platform =
      o.platform.empty() ? oci::host_platform() : value_or_throw(oci::parse_platform(o.platform));
  const std::int64_t mtime = value_or_throw(oci::source_date_epoch());
  const fs::path cache_root = value_or_throw(env::cache_root(o.request.cache_dir));
  Scratch scratch(value_or_throw(util::TempDir::create(cache_root / "oci" / "work", "image-")));

  // The base and the target read from its files.
  const oci::BaseSpec spec = value_or_throw(oci::parse_base_spec(o.base));
  Registries registries(o, cache_root, observer);
  // A registry base is pulled into the cache's blob store (its blobs verified as they stream;
  // those already there are not downloaded again), then opened as a layout.
  const oci::Puller pull = [&](std::string_view reference, const fs::path&) -> Result<oci::PulledBase> {
    auto ref = oci::Reference::parse(reference);
    if (!ref) return std::unexpected(ref.error());
    const fs::path store = cache_root / "oci" / "pulled";
    auto pulled = registries.client().pull(*ref, platform, store);
    if (!pulled)
      return fail(pulled.error().kind, fmt::format("--base {}: {}", reference, pulled.error().message));
    observer.on_phase(fmt::format("Pulled {}: {} blobs, {} downloaded", ref->str(), pulled->blobs.size(),
                                  util::human_size(pulled->bytes_downloaded)));
    return oci::PulledBase{store, pulled->manifest};
  };
  const oci::BaseImage base = value_or_throw(oci::open_base(spec, o.base, scratch.path(), platform, pull));
  const oci::BaseFiles files = value_or_throw(oci::read_base_files(
      base, [&](std::string_view path) { return oci::wanted_for_target(path, venv.string()); }));
  const oci::BaseTarget bt = value_or_throw(oci::read_target(files, base));
  observer.on_phase(fmt::format("Base {}: Python {} ({}), {}", o.base, bt.full_version, bt.python,
                                bt.glibc ? fmt::format("glibc {}.{}", bt.glibc->first, bt.glibc->second)
                                         : fmt::format("musl {}.{}", bt.musl->first, bt.musl->second)));
  // What the base already has there: decided as strata install decides for that environment.
  BaseEnvironment base_env =
      value_or_throw(read_base_environment(files, bt, venv, scratch.path() / "base-env"));
  if (base_env.exists) {
    auto parts = util::split(base_env.version, '.');
    if (parts.size() >= 2 &&
        fmt::format("{}.{}", parts[0], parts[1]) != fmt::format("{}.{}", bt.major, bt.minor))
      throw CommandError(
          ErrorKind::usage,
          fmt::format("--base {}: its environment {} is of Python {}, its interpreter {} is {}", o.base,
                      venv.string(), base_env.version, bt.python, bt.full_version));
    observer.on_phase(fmt::format("Base environment {}: {} distributions{}", venv.string(),
                                  base_env.installed.distributions.size(),
                                  base_env.system_site_packages ? " (with system site-packages)" : ""));
    for (const auto& problem : base_env.installed.problems) observer.on_warning(problem);
  }
  env::ProbeOptions probe{.cache_dir = env::interpreter_cache_dir(cache_root), .run = {}};
  const std::optional<env::Interpreter> host = host_python(o, bt, probe);
  const std::string wheel_platform = base_platform_tag(base, bt);
  const env::Interpreter target = target_interpreter(bt, wheel_platform, files, venv, base_env);
  // Bytecode by a host interpreter of the base's X.Y (unchecked-hash pycs depend only on the
  // version); without one the image has none, and the summary says so.
  const bool compile = !o.no_compile && host.has_value();
  const std::string no_bytecode =
      o.no_compile
          ? "no bytecode"
          : fmt::format("no bytecode: no Python {}.{} on this machine (pass --python)", bt.major, bt.minor);
  if (!compile && !o.no_compile) observer.on_warning(fmt::format("{}: {}", o.base, no_bytecode));

  InstallOptions install;
  install.cache_dir = o.request.cache_dir;
  install.index_url = o.index_url;
  install.sources = o.sources;
  install.find_links = o.find_links;
  install.offline = o.offline;
  install.no_compile = !compile;
  install.link_mode = "auto";
  // Packages the lock has only as source are built by the host interpreter of the base's X.Y,
  // with the builds strata install runs.
  install.build_interpreter = host;

  // The layers: strata plan's, sticky in --plan DIR.
  PlanRequest request = o.request;
  request.interpreter = target;
  request.build = build_policy(install);
  request.index.index_url = o.index_url;
  request.index.source_urls = value_or_throw(parse_source_overrides(o.sources));
  request.index.offline = o.offline;
  for (const auto& f : o.find_links) request.index.find_links.push_back(fs::absolute(f));
  PlanCommandOptions plan_options;
  plan_options.request = request;
  plan_options.out = o.plan_dir.empty() ? (scratch.path() / "plan").string() : o.plan_dir;
  plan_options.policy = o.policy;
  plan_options.max_layers = o.max_layers;
  plan_options.image_env = venv.string();
  plan_options.index_url = o.index_url;
  plan_options.sources = o.sources;
  plan_options.offline = o.offline;
  const PlanCommandReport planned = run_plan_command(plan_options, observer);
  const std::vector<PlannedImageLayer> layers = planned_layers(planned.json.at("plan"));

  // Every wheel prepared as strata install prepares it, staged in scratch.
  Plan plan = prepare(request, observer);
  if (base_env.exists) {
    plan.target.exists = true;
    plan.target.site_dirs = base_env.site_dirs;
    plan.overlay = decide_overlay(plan, std::move(base_env.installed), std::move(base_env.ledger),
                                  request.allow_replace);
  }
  for (const auto& removed : plan.overlay.removed)
    observer.on_warning(
        fmt::format("{} {}: no longer in the lock, but strata image leaves what the base "
                    "installed as it is (strata install would remove it)",
                    removed.name, removed.version));
  // Builds run on this machine, by a host interpreter of the base's X.Y for the base's machine.
  if (!plan.choices.builds.empty()) {
    std::vector<std::string> names;
    for (const auto& b : plan.choices.builds)
      names.push_back(fmt::format("{} {}", b.package->name, b.version));
    const std::string& machine = target.markers.at("platform_machine");
    if (!host)
      plan.choices.problems.push_back(fmt::format(
          "no Python {}.{} on this machine to build what the lock has only as source (pass --python): {}",
          bt.major, bt.minor, util::join(names, ", ")));
    else if (host->markers.at("platform_machine") != machine)
      plan.choices.problems.push_back(fmt::format(
          "{} is an {} image and this machine is {}: strata image cannot build what the lock has only as "
          "source: {}",
          o.base, machine, host->markers.at("platform_machine"), util::join(names, ", ")));
  }
  ImageReport report;
  if (auto problems = plan.problems(); !problems.empty()) {
    report.exit_code = 3;
    report.problems = problems;
    report.summary = fmt::format("Nothing written: {} problems", problems.size());
    report.json = {{"ok", false}, {"problems", problems}};
    return report;
  }
  plan.target.state_dir = scratch.path() / "state";
  StagedWheels staged = stage_wheels(plan, install, observer);
  std::map<std::string, std::size_t> staged_of;
  for (std::size_t i = 0; i < staged.names.size(); ++i) staged_of[staged.names[i]] = i;

  // The image: the base's layers, the venv skeleton, one layer per manifest.
  const oci::BaseSpec out_spec =
      o.out.empty() ? oci::BaseSpec{oci::BaseSpec::Kind::layout, (scratch.path() / "out").string(), ""}
                    : value_or_throw(oci::parse_base_spec(o.out));
  const std::string tag = out_spec.tag.empty() ? "latest" : out_spec.tag;
  oci::Layout layout = value_or_throw(oci::Layout::create(out_spec.location));
  const oci::LayerOptions layer_options{
      .mtime = mtime, .compression = compression, .diffid_dir = cache_root / "oci" / "diffids"};
  const oci::Layout base_layout = value_or_throw(oci::Layout::open(base.layout_dir));
  std::vector<oci::Descriptor> manifest_layers;
  nlohmann::json layers_json = nlohmann::json::array();
  for (std::size_t i = 0; i < base.layers.size(); ++i) {
    value_or_throw(layout.link_blob(base_layout.blob_path(base.layers[i].digest), base.layers[i].digest));
    manifest_layers.push_back(base.layers[i]);
    layers_json.push_back({{"kind", "base"},
                           {"diff_id", base.diff_ids[i]},
                           {"digest", base.layers[i].digest},
                           {"size", base.layers[i].size},
                           {"media_type", oci::oci_layer_type(base.layers[i].media_type)}});
  }
  std::vector<oci::AddedLayer> added;
  auto add_layer = [&](std::vector<oci::LayerEntry> entries, std::string_view kind, const std::string& name,
                       const std::vector<std::string>& packages) {
    oci::WrittenLayer written = value_or_throw(oci::write_layer(std::move(entries), layer_options, layout));
    manifest_layers.push_back(written.descriptor);
    added.push_back({written.diff_id, fmt::format("strata image: {}", name)});
    nlohmann::json j = layer_json(written, kind, name);
    j["packages"] = packages;
    report.lines.push_back(fmt::format("  {:<32} {:>4} packages {:>12} bytes {}", name, packages.size(),
                                       written.descriptor.size, written.diff_id));
    layers_json.push_back(std::move(j));
  };

  if (!base_env.exists) {  // the base's own environment is installed into as it is
    env::Interpreter venv_base = target;
    venv_base.executable = bt.python;
    std::vector<oci::LayerEntry> skeleton;
    for (const auto& e :
         env::venv_layout(venv, venv_base, bt.python, target.real_executable, bt.activate_template)) {
      oci::LayerEntry entry;
      entry.path = entry_path(e.path);
      entry.type = e.kind == env::VenvEntry::Kind::directory ? oci::LayerEntry::Type::directory
                   : e.kind == env::VenvEntry::Kind::symlink ? oci::LayerEntry::Type::symlink
                                                             : oci::LayerEntry::Type::file;
      (entry.type == oci::LayerEntry::Type::symlink ? entry.link : entry.content) = e.content;
      skeleton.push_back(std::move(entry));
    }
    add_layer(std::move(skeleton), "venv", "venv", {});
  }

  // One layer per manifest. A replaced distribution of the base's environment goes as install's
  // commit removes it: whiteouts of what the new version does not overwrite, in the layer of the
  // package that replaces it; the owner files it changes are written there too.
  const std::string project = plan.owner;
  env::Ledger& ledger = plan.overlay.ledger;
  const Target& t = plan.target;
  const std::vector<fs::path> roots = {t.scheme.purelib, t.scheme.platlib, t.scheme.scripts, t.scheme.data,
                                       t.scheme.headers};
  std::map<std::string, const Decision*> decision_of;
  for (const auto& d : plan.overlay.decisions.decisions) decision_of[d.name] = &d;
  for (const auto& l : layers) {
    std::vector<oci::LayerEntry> entries;
    std::vector<std::string> removed;
    std::set<std::string> touched;  // owners whose files this layer rewrites
    std::vector<std::string> kept, replaced;
    const std::string owner = env::layer_owner(project, l.name);
    touched.insert(owner);
    for (const auto& name : l.packages) {
      auto it = staged_of.find(name);
      const Decision* d = decision_of.contains(name) ? decision_of.at(name) : nullptr;
      if (it == staged_of.end()) {  // kept: nothing to install
        if (d != nullptr) kept.push_back(name);
        continue;
      }
      const auto& prepared = staged.prepared[it->second];
      add_staged(prepared, entries);
      if (d != nullptr && d->action == Action::replace) {
        replaced.push_back(name);
        // As install: a version outside the library directories is shadowed, never modified.
        if (wheel::is_within(d->installed_path, t.scheme.purelib) ||
            wheel::is_within(d->installed_path, t.scheme.platlib)) {
          std::set<fs::path> destinations;
          for (const auto& [dest, hash] : prepared.destinations()) destinations.insert(dest);
          auto gone = value_or_throw(replaced_paths(files, d->installed_path, destinations, roots));
          removed.insert(removed.end(), gone.begin(), gone.end());
          if (!d->installed_owner.empty()) touched.insert(d->installed_owner);
        }
      }
      const auto& fetched = staged.fetched[it->second];
      const auto& built_from = staged.built_from[it->second];
      ledger.record_install({.name = name,
                             .version = d != nullptr ? d->version.str() : std::string(),
                             .owner = owner,
                             .wheel = built_from ? *built_from : fetched.filename,
                             .sha256 = fetched.sha256,
                             .dist_info = prepared.staged().back().second.string(),
                             .installed_at = std::nullopt,
                             .built_from = built_from,
                             .build_requirements = staged.build_requirements[it->second]});
    }
    for (const auto& who : touched) {
      const std::string file = entry_path(env::Ledger::file_for(venv, who));
      const bool has_entries = std::any_of(ledger.entries().begin(), ledger.entries().end(),
                                           [&](const auto& e) { return e.second.owner == who; });
      if (has_entries || who == owner) {
        oci::LayerEntry owner_file;
        owner_file.path = file;
        owner_file.content = ledger.dump(who);
        entries.push_back(std::move(owner_file));
      } else if (files.nodes.contains(file)) {
        removed.push_back(file);  // an owner left with nothing: its file goes, as Ledger::save does
      }
    }
    auto hidden = whiteouts(removed, entries);
    const std::size_t whiteout_count = hidden.size();
    for (auto& w : hidden) entries.push_back(std::move(w));
    add_layer(std::move(entries), "packages", l.file, l.packages);
    layers_json.back()["kept"] = kept;
    layers_json.back()["replaced"] = replaced;
    layers_json.back()["whiteouts"] = whiteout_count;
  }

  const nlohmann::json config = oci::derive_config(base.config, added, venv.string(), mtime);
  const oci::Descriptor config_d =
      value_or_throw(layout.write_blob(oci::kOciConfig, oci::canonical_json(config)));
  const nlohmann::json manifest = oci::image_manifest(config_d, manifest_layers);
  oci::Descriptor manifest_d =
      value_or_throw(layout.write_blob(oci::kOciManifest, oci::canonical_json(manifest)));
  manifest_d.annotations[std::string(oci::kRefNameAnnotation)] = tag;
  std::vector<oci::Descriptor> index;
  for (auto& m : value_or_throw(layout.index())) {
    auto ref = m.annotations.find(std::string(oci::kRefNameAnnotation));
    if (ref == m.annotations.end() || ref->second != tag) index.push_back(std::move(m));
  }
  index.push_back(manifest_d);
  value_or_throw(layout.write_index(index));

  report.summary = fmt::format("{} ({} base layers + {} layers, {} packages{}): manifest {}",
                               o.out.empty() ? "Built" : fmt::format("Wrote {}:{}", out_spec.location, tag),
                               base.layers.size(), added.size(), staged.names.size(),
                               compile ? "" : ", " + no_bytecode, manifest_d.digest);

  // --push: every blob HEADed first (present: skipped), mounted from another repository of the
  // registry that holds it, or uploaded; the manifest last, only when every blob is there.
  nlohmann::json push_json = nullptr;
  if (push_ref) {
    observer.on_phase(fmt::format("Pushing to {}: {} blobs", push_ref->str(), manifest_layers.size() + 1));
    oci::TransferReport pushed =
        value_or_throw(registries.client().push(out_spec.location, *push_ref, manifest_d.digest));
    const auto outcome = by_digest(pushed);
    std::size_t counts[3] = {0, 0, 0};
    auto annotate = [&](nlohmann::json& j, const std::string& digest) {
      auto it = outcome.find(digest);
      const oci::BlobReport* b = it == outcome.end() ? nullptr : it->second;
      const oci::BlobAction action = b ? b->action : oci::BlobAction::skipped;
      j["action"] = oci::to_string(action);
      j["mounted_from"] = b ? b->mounted_from : "";
      j["bytes_uploaded"] = b ? b->bytes : 0;
      ++counts[action == oci::BlobAction::uploaded ? 0 : action == oci::BlobAction::mounted ? 1 : 2];
    };
    for (auto& j : layers_json) {
      annotate(j, j.at("digest").get<std::string>());
      report.lines.push_back(fmt::format("  {:<8} {:<10} {} ({})", j.at("action").get<std::string>(),
                                         j.at("kind").get<std::string>(), j.at("digest").get<std::string>(),
                                         util::human_size(j.at("size").get<std::uint64_t>())));
    }
    nlohmann::json config_json = {{"digest", config_d.digest}, {"size", config_d.size}};
    annotate(config_json, config_d.digest);
    push_json = {{"reference", pushed.reference},
                 {"manifest",
                  {{"digest", pushed.manifest.digest}, {"action", oci::to_string(pushed.manifest_action)}}},
                 {"config", config_json},
                 {"uploaded", counts[0]},
                 {"mounted", counts[1]},
                 {"skipped", counts[2]},
                 {"bytes_uploaded", pushed.bytes_uploaded},
                 {"requests", pushed.requests}};
    report.summary +=
        fmt::format("\nPushed {}: {} uploaded ({}), {} mounted, {} already there", pushed.reference,
                    counts[0], util::human_size(pushed.bytes_uploaded), counts[1], counts[2]);
  }
  report.json = {{"ok", true},
                 {"out", o.out.empty() ? nlohmann::json(nullptr) : nlohmann::json(out_spec.location)},
                 {"push", push_json},
                 {"tag", tag},
                 {"base", {{"name", o.base}, {"manifest", base.manifest.digest}}},
                 {"target",
                  {{"python", bt.python},
                   {"version", bt.full_version},
                   {"glibc", bt.glibc ? fmt::format("{}.{}", bt.glibc->first, bt.glibc->second) : ""},
                   {"musl", bt.musl ? fmt::format("{}.{}", bt.musl->first, bt.musl->second) : ""},
                   {"platform", wheel_platform},
                   {"env", venv.string()}}},
                 {"manifest", {{"digest", manifest_d.digest}, {"size", manifest_d.size}}},
                 {"config", {{"digest", config_d.digest}, {"size", config_d.size}}},
                 {"bytecode",
                  {{"compiled", compile},
                   {"python", compile ? host->executable.string() : ""},
                   {"reason", compile ? "" : no_bytecode}}},
                 {"plan", plan_options.out},
                 {"downloaded", staged.downloaded},
                 {"built", staged.built},
                 {"decisions", to_json(plan.overlay.decisions)},
                 {"layers", layers_json}};
  return report;
}

}  // namespace strata::plan
