#include "plan/check.hpp"

#include <map>
#include <optional>
#include <system_error>

#include <fmt/format.h>

#include "lock/constraint_lint.hpp"
#include "lock/json.hpp"
#include "lock/poetry_constraint.hpp"
#include "util/counts.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

namespace strata::plan {
namespace fs = std::filesystem;
namespace {

/// Keeps the front half's warnings for the report and passes its phase lines on.
class Collector final : public PlanObserver {
 public:
  explicit Collector(PlanObserver& inner) : inner_(inner) {}
  void on_phase(std::string_view line) override { inner_.on_phase(line); }
  void on_warning(std::string_view line) override { warnings.emplace_back(line); }
  std::vector<std::string> warnings;

 private:
  PlanObserver& inner_;
};

/// The pyproject.toml to lint: Poetry's, else one beside a pylock.toml, else none.
std::optional<fs::path> pyproject_of(const lock::LockFiles& files) {
  if (!files.pyproject.empty()) return files.pyproject;
  fs::path beside = fs::absolute(files.lock).parent_path() / "pyproject.toml";
  std::error_code ec;
  if (fs::is_regular_file(beside, ec)) return beside;
  return std::nullopt;
}

nlohmann::json lint(const lock::LockFiles& files, CheckReport& report) {
  nlohmann::json out = nlohmann::json::array();
  auto pyproject = pyproject_of(files);
  if (!pyproject) return out;
  std::string text = value_or_throw(util::read_file(*pyproject));
  for (const auto& l : value_or_throw(lock::lint_constraints(text, pyproject->string()))) {
    report.warnings.push_back(l.message());
    out.push_back({{"file", pyproject->string()},
                   {"line", l.line},
                   {"column", l.column},
                   {"dependency", l.dependency},
                   {"constraint", l.constraint},
                   {"suggestion", l.suggestion}});
  }
  return out;
}

/// One base lock as an installed set: its selection for the target, owned by the base's owner.
struct Base {
  std::string lock;
  std::string owner;
  std::size_t packages = 0;
};

/// Adds the selection of every base (first base first: an earlier one wins a name, as an earlier
/// site dir does) to `installed` and `ledger`, as if strata had installed it for the base's owner.
std::vector<Base> read_bases(const CheckOptions& options, env::InstalledSet& installed, env::Ledger& ledger,
                             Collector& observer) {
  std::vector<Base> bases;
  for (std::size_t i = 0; i < options.bases.size(); ++i) {
    PlanRequest request = options.request;
    request.lock = options.bases[i];
    request.locked = false;
    Collector quiet(observer);
    Plan base = prepare(request, quiet);
    const std::string lock = base.files.lock.string();
    for (const auto& w : quiet.warnings) observer.warnings.push_back(fmt::format("base {}: {}", lock, w));
    std::map<std::string, const ChosenWheel*, std::less<>> wheels;
    for (const auto& c : base.choices.chosen) wheels[c.package->name] = &c;
    for (const auto& p : base.selection.packages) {
      auto chosen = wheels.find(p.name);
      env::InstalledDistribution d;
      d.name = p.name;
      d.display_name = p.display_name;
      d.version = p.version_text;
      d.installer = "strata";
      d.path = base.files.lock;
      d.site_dir = base.files.lock;
      d.site_index = i;
      d.requires_dist = base_requires_dist(base.lock, p);
      if (!ledger.find(p.name)) {
        env::LedgerEntry entry;
        entry.name = p.name;
        entry.version = p.version_text;
        entry.owner = base.owner;
        if (chosen != wheels.end()) {
          entry.wheel = chosen->second->request.filename;
          entry.sha256 = chosen->second->request.sha256;
        }
        entry.dist_info = lock;
        ledger.record_install(std::move(entry));
      }
      installed.add(std::move(d));
    }
    bases.push_back({lock, base.owner, base.selection.packages.size()});
  }
  return bases;
}

}  // namespace

std::vector<std::string> base_requires_dist(const lock::Lock& lock, const lock::Package& package) {
  std::vector<std::string> out;
  if (lock.format != lock::Format::poetry) return out;
  for (const lock::Dependency& d : package.dependencies) {
    if (d.optional || !d.python.empty() || !d.platform.empty()) continue;
    std::string text = d.display_name;
    if (!d.extras.empty()) text += fmt::format("[{}]", util::join(d.extras, ","));
    if (!d.direct) {
      auto constraint = lock::PoetryConstraint::parse(d.constraint);
      if (!constraint) continue;
      if (!constraint->is_any()) {
        std::string spec = constraint->str();
        if (spec.find("||") != std::string::npos) continue;
        text += spec;
      }
    }
    if (d.marker) text += fmt::format("; {}", d.marker->str());
    out.push_back(std::move(text));
  }
  return out;
}

CheckReport run_check(const CheckOptions& options, PlanObserver& observer) {
  if (!options.bases.empty() && !options.request.env.empty())
    throw CommandError(ErrorKind::usage,
                       "--base and --env cannot be used together: a base lock replaces the environment");
  if (!options.bases.empty() && !options.request.prefix.empty())
    throw CommandError(ErrorKind::usage, "--base and --prefix cannot be used together");
  if (options.empty_env && (!options.request.env.empty() || !options.request.prefix.empty()))
    throw CommandError(
        ErrorKind::usage,
        "--empty-env cannot be used with --env or --prefix: it checks against nothing installed");
  CheckReport report;
  Collector collector(observer);
  const lock::LockFiles files = value_or_throw(lock::find_lock(options.request.lock));
  report.json = {{"lock", files.lock.string()}};

  PlanRequest request = options.request;
  request.locked = false;  // a stale lock is reported with the other problems, not thrown
  request.allow_replace = false;
  std::optional<Plan> plan;
  try {
    plan.emplace(prepare(request, collector));
  } catch (const CommandError& e) {
    if (e.error().kind != ErrorKind::check) throw;
    report.problems.push_back(e.error().message);  // requires-python, environment markers
  }

  if (plan) {
    report.problems.insert(report.problems.end(), plan->choices.problems.begin(),
                           plan->choices.problems.end());
    if (!options.bases.empty()) {
      env::InstalledSet installed;
      env::Ledger ledger;
      auto bases = read_bases(options, installed, ledger, collector);
      // The platform image installed its lock into the environment this lock goes into: its
      // packages are the target's own (replaced with --allow-replace), not a base outside it.
      plan->overlay =
          decide_overlay(*plan, std::move(installed), std::move(ledger), false, /*all_in_target=*/true);
      std::size_t i = 0;
      for (const auto& d : plan->overlay.decisions.decisions)
        if (d.action == Action::conflict)
          plan->overlay.conflicts[i++] += fmt::format(" (in base {})", d.installed_path.string());
      nlohmann::json base_json = nlohmann::json::array();
      for (const auto& b : bases)
        base_json.push_back({{"lock", b.lock}, {"owner", b.owner}, {"packages", b.packages}});
      report.json["bases"] = std::move(base_json);
    } else if (options.empty_env) {
      plan->overlay = decide_overlay(*plan, {}, {}, false);
    }
    const Overlay& overlay = plan->overlay;
    report.problems.insert(report.problems.end(), overlay.conflicts.begin(), overlay.conflicts.end());
    for (const auto& p : overlay.installed.problems) collector.warnings.push_back(p);
    for (const auto& w : overlay.decisions.warnings) collector.warnings.push_back(w);
    if (plan->fresh == false && options.request.locked) {
      // The stale-lock warning prepare() gave is an error with --locked.
      std::erase_if(collector.warnings, [&](const std::string& w) {
        if (w.find("the lock is stale") == std::string::npos || w.starts_with("base ")) return false;
        report.problems.push_back(w);
        return true;
      });
    }
    report.json["format"] = lock::format_name(plan->lock.format);
    report.json["owner"] = plan->owner;
    report.json["target"] = to_json(plan->target);
    report.json["selection"] = selection_json(*plan);
    report.json["plan"] = to_json(overlay.decisions);
    if (plan->fresh) report.json["content_hash_fresh"] = *plan->fresh;
  }
  report.warnings = std::move(collector.warnings);
  report.json["lint"] = lint(files, report);

  const bool failed = !report.problems.empty() || (options.strict && !report.warnings.empty());
  report.exit_code = failed ? exit_code(ErrorKind::check) : 0;
  std::string counts;
  if (plan) {
    const auto& d = plan->overlay.decisions;
    std::size_t local = 0;
    for (const auto& decision : d.decisions) local += decision.local_build ? 1 : 0;
    counts = fmt::format("{} ({} to install, {} to replace, {} kept{}, {} conflicting)",
                         util::counted(d.decisions.size(), "package"), d.count(Action::install),
                         d.count(Action::replace), d.count(Action::keep),
                         local > 0 ? fmt::format(" ({})", util::counted(local, "local build")) : "",
                         d.count(Action::conflict));
  }
  report.summary = fmt::format("{}: {}{}{}, {}; nothing was downloaded or changed",
                               failed ? "Check failed" : "Check passed", counts, counts.empty() ? "" : "; ",
                               util::counted(report.problems.size(), "problem"),
                               util::counted(report.warnings.size(), "warning"));
  report.json["ok"] = !failed;
  report.json["strict"] = options.strict;
  report.json["problems"] = report.problems;
  report.json["warnings"] = report.warnings;
  report.json["summary"] = report.summary;
  return report;
}

}  // namespace strata::plan
