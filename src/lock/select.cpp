// Selection of the packages to install from a Lock, per format:
// - pylock.toml: each package's marker with the PEP 751 `extras` / `dependency_groups` context;
// - poetry.lock 2.1: a package's `groups` and per-group `markers` (as poetry-plugin-export's
//   get_project_dependency_packages2 does);
// - older poetry.lock with a pyproject.toml: a walk of the dependency graph from the requested
//   groups' root requirements (as poetry-plugin-export's walk_dependencies does), evaluating each
//   edge's marker for the target instead of collecting markers;
// - older poetry.lock alone: `category`;
// - uv.lock: a walk from the workspace members, as `uv sync` does (lock/uv_lock.cpp);
// - pdm.lock (inherit_metadata): a package's `groups` (extras and dependency groups alike) and
//   `marker`, as pdm's LockedRepository.evaluate_candidates does; Pipfile.lock: the categories
//   asked for and each entry's `markers`, as `pipenv requirements --categories` does.

#include <algorithm>
#include <deque>
#include <set>

#include <fmt/format.h>

#include "lock/model.hpp"
#include "lock/poetry_constraint.hpp"
#include "lock/uv_lock.hpp"
#include "pep/name.hpp"
#include "pep/specifier.hpp"
#include "util/strings.hpp"

namespace strata::lock {
namespace {

struct Target {
  const pep::MarkerEnvironment* environment = nullptr;
  pep::Version python_full;
  pep::Version python_short;
  std::set<std::string> extras;
  std::set<std::string> groups;
};

// Extra names a marker mentions in `extra == "..."` clauses.
std::vector<std::string> extras_named_in(const std::string& text) {
  std::vector<std::string> names;
  std::size_t pos = 0;
  while ((pos = text.find("extra", pos)) != std::string::npos) {
    std::size_t i = pos + 5;
    pos = i;
    while (i < text.size() && text[i] == ' ') ++i;
    if (text.compare(i, 2, "==") != 0) continue;
    i += 2;
    while (i < text.size() && text[i] == ' ') ++i;
    if (i >= text.size() || (text[i] != '"' && text[i] != '\'')) continue;
    char quote = text[i];
    std::size_t end = text.find(quote, i + 1);
    if (end == std::string::npos) break;
    names.push_back(pep::normalize_name(text.substr(i + 1, end - i - 1)));
  }
  return names;
}

// A Poetry marker with the `extra` variable bound to a set of extras, as poetry-core's
// `marker.apply({"extra": extras})` / `validate` do: true when it holds for one of them (or for
// none, the empty extra).
bool holds_with_extras(const pep::Marker& marker, const Target& target, const std::set<std::string>& extras) {
  pep::MarkerContext context;
  context.environment = target.environment;
  context.extras = target.extras;
  context.dependency_groups = target.groups;
  if (marker.evaluate(context)) return true;
  for (const auto& extra : extras) {
    context.extra = extra;
    if (marker.evaluate(context)) return true;
  }
  return false;
}

// A dependency edge's marker with its extra clauses dropped (poetry-core's `without_extras`,
// which the exporter's walk applies): true when it holds for some extra it names.
bool holds_without_extras(const pep::Marker& marker, const Target& target) {
  auto named = extras_named_in(marker.str());
  return holds_with_extras(marker, target, std::set<std::string>(named.begin(), named.end()));
}

bool dependency_applies(const Dependency& d, const Target& target, std::string& why) {
  if (d.marker && !holds_without_extras(*d.marker, target)) {
    why = fmt::format("marker is false for the target: {}", d.marker->str());
    return false;
  }
  if (!d.python.empty()) {
    auto c = PoetryConstraint::parse(d.python);
    if (c && !c->allows_python(target.python_full, target.python_short)) {
      why = fmt::format("python {} excludes the target's Python {}", d.python, target.python_full.str());
      return false;
    }
  }
  if (!d.platform.empty()) {
    auto it = target.environment->find("sys_platform");
    std::string platform = it == target.environment->end() ? "" : it->second;
    if (!platform.starts_with(d.platform)) {
      why = fmt::format("platform {} is not the target's {}", d.platform, platform);
      return false;
    }
  }
  return true;
}

Result<std::set<std::string>> resolve_names(const std::vector<std::string>& asked,
                                            const std::vector<std::string>& known, std::string_view what,
                                            const std::string& source) {
  std::set<std::string> out;
  for (const auto& raw : asked) {
    std::string name = pep::normalize_name(util::trim(raw));
    if (name.empty()) continue;
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      std::string list = known.empty() ? "none" : util::join(known, ", ");
      return fail(ErrorKind::usage,
                  fmt::format("{}: unknown {} \"{}\"; the lock has: {}", source, what, raw, list));
    }
    out.insert(name);
  }
  return out;
}

Result<Target> make_target(const Lock& lock, const SelectionRequest& request) {
  Target t;
  t.environment = &request.environment;
  auto full = pep::Version::parse(request.python_full_version);
  if (!full)
    return fail(ErrorKind::usage,
                fmt::format("invalid target Python version \"{}\"", request.python_full_version));
  t.python_full = *full;
  const auto& release = full->release();
  auto short_v = pep::Version::parse(
      fmt::format("{}.{}", release.empty() ? 0 : release[0], release.size() < 2 ? 0 : release[1]));
  t.python_short = short_v ? *short_v : *full;

  std::vector<std::string> known_groups;
  for (const auto& g : lock.groups) known_groups.push_back(g.name);
  auto only = resolve_names(request.only, known_groups, "group", lock.source_name);
  if (!only) return std::unexpected(only.error());
  auto with = resolve_names(request.with, known_groups, "group", lock.source_name);
  if (!with) return std::unexpected(with.error());
  auto without = resolve_names(request.without, known_groups, "group", lock.source_name);
  if (!without) return std::unexpected(without.error());
  if (!only->empty()) {
    t.groups = *only;
  } else {
    t.groups.insert(lock.default_groups.begin(), lock.default_groups.end());
    t.groups.insert(with->begin(), with->end());
  }
  for (const auto& g : *without) t.groups.erase(g);

  if (request.all_extras) {
    t.extras.insert(lock.extras.begin(), lock.extras.end());
  } else {
    auto extras = resolve_names(request.extras, lock.extras, "extra", lock.source_name);
    if (!extras) return std::unexpected(extras.error());
    t.extras = *extras;
  }
  return t;
}

Exclusion exclude(const Package& p, std::string reason) {
  return Exclusion{p.name, p.version_text, std::move(reason)};
}

Result<void> check_requires_python(const Lock& lock, const Target& target) {
  if (lock.requires_python.empty()) return {};
  bool ok = true;
  if (lock.format == Format::pylock || lock.format == Format::uv) {
    auto spec = pep::SpecifierSet::parse(lock.requires_python);
    ok = !spec || spec->contains(target.python_full, true);
  } else {
    auto c = PoetryConstraint::parse(lock.requires_python);
    ok = !c || c->allows_python(target.python_full, target.python_short);
  }
  if (ok) return {};
  return fail(ErrorKind::check,
              fmt::format("{}: the target's Python {} is outside the lock's requires-python \"{}\"",
                          lock.source_name, target.python_full.str(), lock.requires_python));
}

// ---- pylock.toml ----

// pylock `environments`, uv.lock `supported-markers`: the target must match one of them.
Result<void> check_environments(const Lock& lock, const Target& target) {
  if (lock.environments.empty()) return {};
  pep::MarkerContext context;
  context.environment = target.environment;
  bool any = false;
  for (const auto& env : lock.environments) any = any || env.evaluate(context);
  if (any) return {};
  std::vector<std::string> texts;
  for (const auto& env : lock.environments) texts.push_back(env.str());
  return fail(ErrorKind::check,
              fmt::format("{}: the target matches none of the lock's {}: {}", lock.source_name,
                          lock.format == Format::uv    ? "supported-markers"
                          : lock.format == Format::pdm ? "targets"
                                                       : "environments",
                          util::join(texts, " | ")));
}

Result<Selection> select_pylock(const Lock& lock, const Target& target, Selection selection) {
  if (auto ok = check_environments(lock, target); !ok) return std::unexpected(ok.error());
  pep::MarkerContext context;
  context.environment = target.environment;
  context.extras = target.extras;
  context.dependency_groups = target.groups;
  std::map<std::string, std::string> chosen;  // name -> location of the selected entry
  for (const auto& p : lock.packages) {
    if (p.marker && !p.marker->evaluate(context)) {
      selection.excluded.push_back(
          exclude(p, fmt::format("marker is false for the target: {}", p.marker->str())));
      continue;
    }
    if (!p.requires_python.empty()) {
      auto spec = pep::SpecifierSet::parse(p.requires_python);
      if (spec && !spec->contains(target.python_full, true)) {
        selection.excluded.push_back(exclude(p, fmt::format("requires-python \"{}\" excludes Python {}",
                                                            p.requires_python, target.python_full.str())));
        continue;
      }
    }
    auto [it, inserted] = chosen.emplace(p.name, p.location);
    if (!inserted) {
      return fail(ErrorKind::usage,
                  fmt::format("{}: package \"{}\" is selected twice for this target (also at {})", p.location,
                              p.display_name, it->second));
    }
    selection.packages.push_back(p);
  }
  // requirements.txt `-c` lines with a marker: a pin must satisfy each whose marker holds (pip
  // applies such a constraint only then, and a pin outside it cannot be installed).
  for (const auto& c : lock.marked_constraints) {
    if (!c.marker.evaluate(context)) continue;
    auto spec = pep::SpecifierSet::parse(c.specifier);
    if (!spec) continue;  // refused on reading
    for (const auto& p : selection.packages)
      if (p.name == c.name && !spec->contains(p.version, true))
        return fail(ErrorKind::usage,
                    fmt::format("{}: {}=={} does not satisfy the constraint \"{}\" at {} (its marker holds "
                                "for this target)",
                                p.location, p.display_name, p.version_text, c.text, c.location));
  }
  return selection;
}

// ---- poetry.lock 2.1: groups and markers ----

Result<Selection> select_poetry_groups(const Lock& lock, const Target& target, Selection selection) {
  for (const auto& p : lock.packages) {
    bool in_group = false;
    bool holds = false;
    std::string failed;
    std::vector<std::string> groups;
    for (const auto& m : p.groups) {
      groups.push_back(m.group);
      if (!target.groups.contains(m.group)) continue;
      in_group = true;
      if (!m.marker || holds_with_extras(*m.marker, target, target.extras)) {
        holds = true;
      } else {
        failed = m.marker->str();
      }
    }
    if (!in_group) {
      selection.excluded.push_back(
          exclude(p, fmt::format("not in the selected groups (it is in: {})", util::join(groups, ", "))));
    } else if (!holds) {
      auto named = extras_named_in(failed);
      bool needs_extra = !named.empty();
      selection.excluded.push_back(
          exclude(p, needs_extra ? fmt::format("needs an extra that was not requested: {}", failed)
                                 : fmt::format("marker is false for the target: {}", failed)));
    } else {
      selection.packages.push_back(p);
    }
  }
  return selection;
}

// ---- pdm.lock and Pipfile.lock: groups and markers ----

// A package is selected when one of its groups is selected and that membership's marker holds
// (pdm: the package's marker for every group; pipenv: each category's entry has its own).
Result<Selection> select_by_groups(const Lock& lock, const Target& target, Selection selection) {
  if (auto ok = check_environments(lock, target); !ok) return std::unexpected(ok.error());
  // pdm's -G names extras and dependency groups alike; "default" is the project's dependencies.
  std::set<std::string> wanted = target.groups;
  wanted.insert(target.extras.begin(), target.extras.end());
  pep::MarkerContext context;
  context.environment = target.environment;
  context.extras = target.extras;
  context.dependency_groups = target.groups;
  for (const auto& p : lock.packages) {
    std::vector<std::string> groups;
    bool in_group = p.groups.empty() && (!p.marker || p.marker->evaluate(context));
    std::string failed;
    bool any_group = p.groups.empty();
    for (const auto& m : p.groups) {
      groups.push_back(m.group);
      if (!wanted.contains(m.group)) continue;
      any_group = true;
      if (!m.marker || m.marker->evaluate(context))
        in_group = true;
      else
        failed = m.marker->str();
    }
    if (!any_group) {
      selection.excluded.push_back(
          exclude(p, fmt::format("not in the selected groups (it is in: {})", util::join(groups, ", "))));
    } else if (!in_group) {
      selection.excluded.push_back(exclude(
          p, fmt::format("marker is false for the target: {}", failed.empty() ? p.marker->str() : failed)));
    } else if (p.version_text.empty() && p.source.kind == SourceKind::index) {
      // pipenv writes `"version": "*"` without hashes for a package whose marker was false where
      // `pipenv lock` ran: nothing was locked for it.
      return fail(
          ErrorKind::check,
          fmt::format("{}: {} is selected for this target, but the lock pins no version or hash for it "
                      "(pipenv skipped it: its marker was false where `pipenv lock` ran); lock on "
                      "the target's platform",
                      p.location, p.display_name));
    } else {
      selection.packages.push_back(p);
    }
  }
  return selection;
}

// ---- poetry.lock 2.0 and older with pyproject.toml: dependency walk ----

// poetry's get_extra_package_names: every package reachable (ignoring markers) from the root
// extras' packages.
std::set<std::string> extra_package_names(const Lock& lock, const std::set<std::string>& extras) {
  std::map<std::string, const Package*> by_name;
  for (const auto& p : lock.packages) by_name.emplace(p.name, &p);
  std::vector<std::string> stack;
  for (const auto& extra : extras) {
    auto it = lock.root_extras.find(extra);
    if (it != lock.root_extras.end()) stack.insert(stack.end(), it->second.begin(), it->second.end());
  }
  std::set<std::string> seen;
  while (!stack.empty()) {
    std::string name = stack.back();
    stack.pop_back();
    auto it = by_name.find(name);
    if (it == by_name.end() || seen.contains(name)) continue;
    seen.insert(name);
    for (const auto& d : it->second->dependencies) stack.push_back(d.name);
  }
  return seen;
}

// One walk of the dependency graph from the requested groups' roots. `known` holds, per name, the
// constraints the previous walk met: a candidate must allow them too, so that a name with several
// locked versions gets the one every dependent allows (Poetry's installer resolves the lock's
// packages again; the exporter's walk would keep the first match and pick two).
struct Walk {
  std::set<std::size_t> chosen;
  std::map<std::string, std::string> name_why_not;
  /// Per name, every applying edge from a chosen package: (constraint, who requires it).
  std::map<std::string, std::set<std::pair<std::string, std::string>>> constraints;
};

Result<Walk> walk_once(const Lock& lock, const Target& target,
                       const std::map<std::string, std::vector<std::size_t>>& by_name,
                       const std::set<std::string>& extra_names,
                       const std::map<std::string, std::set<std::pair<std::string, std::string>>>& known) {
  Walk w;
  struct Edge {
    const Dependency* dependency;
    std::string parent;
  };
  std::deque<Edge> queue;
  for (const auto& group : lock.groups) {
    if (!target.groups.contains(group.name)) continue;
    for (const auto& root : group.roots) {
      if (root.name == lock.project_name) continue;
      if (root.optional && !extra_names.contains(root.name)) {
        w.name_why_not.emplace(root.name, "optional; no requested extra needs it");
        continue;
      }
      queue.push_back(Edge{&root, "the project"});
    }
  }
  auto allows = [](const std::string& text, const pep::Version& v) {
    auto c = PoetryConstraint::parse(text);
    return !c || c->allows(v);
  };
  std::set<std::pair<std::size_t, std::string>> visited;  // (package, extra) processed
  while (!queue.empty()) {
    Edge edge = queue.front();
    queue.pop_front();
    const Dependency& d = *edge.dependency;
    std::string why;
    if (!dependency_applies(d, target, why)) {
      w.name_why_not.emplace(d.name, fmt::format("{} (required by {})", why, edge.parent));
      continue;
    }
    auto candidates = by_name.find(d.name);
    if (candidates == by_name.end()) {
      return fail(ErrorKind::usage, fmt::format("{}: \"{}\" (required by {}) is not in the lock",
                                                lock.source_name, d.display_name, edge.parent));
    }
    const std::string constraint = d.direct ? std::string() : d.constraint;
    if (!constraint.empty()) w.constraints[d.name].emplace(constraint, edge.parent);
    const auto learned = known.find(d.name);
    auto allowed_by_all = [&](const Package& p) {
      if (learned == known.end()) return true;
      for (const auto& [text, parent] : learned->second)
        if (!allows(text, p.version)) return false;
      return true;
    };
    std::optional<std::size_t> pick, fallback;
    for (bool all : {true, false}) {  // what every dependent allows; else what this edge allows
      for (std::size_t index : candidates->second) {
        const Package& p = lock.packages[index];
        if (!allows(constraint, p.version) || (all && !allowed_by_all(p))) continue;
        if (!fallback) fallback = index;
        // A version already chosen wins (one version per name), as the exporter's walk keeps it.
        if (w.chosen.contains(index)) {
          pick = index;
          break;
        }
        bool python_ok = true;
        if (!p.requires_python.empty()) {
          auto pc = PoetryConstraint::parse(p.requires_python);
          python_ok = !pc || pc->allows_python(target.python_full, target.python_short);
        }
        if (python_ok && !pick) pick = index;
      }
      if (pick || fallback) break;
    }
    if (!pick) pick = fallback;
    if (!pick) {
      return fail(ErrorKind::usage,
                  fmt::format("{}: no locked version of \"{}\" satisfies \"{}\" (required by {})",
                              lock.source_name, d.display_name, d.constraint, edge.parent));
    }
    w.chosen.insert(*pick);
    const Package& p = lock.packages[*pick];
    std::vector<std::string> features{""};
    features.insert(features.end(), d.extras.begin(), d.extras.end());
    for (const auto& feature : features) {
      if (!visited.emplace(*pick, feature).second) continue;
      std::set<std::string> enabled;
      if (!feature.empty()) {
        auto it = p.extras.find(feature);
        if (it != p.extras.end()) enabled.insert(it->second.begin(), it->second.end());
      }
      for (const auto& dep : p.dependencies) {
        if (feature.empty() ? dep.optional : !(dep.optional && enabled.contains(dep.name))) continue;
        queue.push_back(Edge{&dep, fmt::format("{} {}", p.display_name, p.version_text)});
      }
    }
    for (const auto& dep : p.dependencies) {
      if (dep.optional)
        w.name_why_not.emplace(
            dep.name,
            fmt::format("optional dependency of {} for an extra that was not requested", p.display_name));
    }
  }
  return w;
}

// The first name the walk chose several versions of, or whose chosen version a dependent's
// constraint refuses: an error naming the versions and what each dependent requires.
std::optional<std::string> inconsistency(const Lock& lock, const Walk& w) {
  std::map<std::string, std::vector<std::size_t>> chosen_by_name;
  for (auto index : w.chosen) chosen_by_name[lock.packages[index].name].push_back(index);
  for (const auto& [name, indexes] : chosen_by_name) {
    bool ok = indexes.size() == 1;
    if (auto it = w.constraints.find(name); ok && it != w.constraints.end()) {
      for (const auto& [text, parent] : it->second) {
        auto c = PoetryConstraint::parse(text);
        if (c && !c->allows(lock.packages[indexes[0]].version)) ok = false;
      }
    }
    if (ok) continue;
    std::vector<std::string> versions, wants;
    for (const auto& p : lock.packages)
      if (p.name == name) versions.push_back(p.version_text);
    if (auto it = w.constraints.find(name); it != w.constraints.end())
      for (const auto& [text, parent] : it->second)
        wants.push_back(fmt::format("{} (required by {})", text, parent));
    return fmt::format(
        "{}: no locked version of \"{}\" satisfies every package that requires it: {}; the lock has {}",
        lock.source_name, lock.packages[indexes[0]].display_name, util::join(wants, ", "),
        util::join(versions, ", "));
  }
  return std::nullopt;
}

Result<Selection> select_poetry_walk(const Lock& lock, const Target& target, Selection selection) {
  std::map<std::string, std::vector<std::size_t>> by_name;  // highest version first
  for (std::size_t i = 0; i < lock.packages.size(); ++i) by_name[lock.packages[i].name].push_back(i);
  for (auto& [name, indexes] : by_name) {
    std::stable_sort(indexes.begin(), indexes.end(), [&](std::size_t a, std::size_t b) {
      return lock.packages[a].version > lock.packages[b].version;
    });
  }
  std::set<std::string> extra_names = extra_package_names(lock, target.extras);
  // Walk again with what the last walk learned until one version per name satisfies every
  // dependent; a lock with one version per name needs one walk.
  std::map<std::string, std::set<std::pair<std::string, std::string>>> known;
  std::optional<Walk> done;
  for (int round = 0; round < 8 && !done; ++round) {
    auto w = walk_once(lock, target, by_name, extra_names, known);
    if (!w) return std::unexpected(w.error());
    auto problem = inconsistency(lock, *w);
    if (!problem) {
      done = std::move(*w);
    } else if (w->constraints == known || round == 7) {
      return fail(ErrorKind::usage, *problem);
    } else {
      known = std::move(w->constraints);
    }
  }
  const std::set<std::size_t>& chosen = done->chosen;
  const auto& name_why_not = done->name_why_not;
  std::set<std::string> chosen_names;
  for (auto index : chosen) chosen_names.insert(lock.packages[index].name);
  for (std::size_t i = 0; i < lock.packages.size(); ++i) {
    const Package& p = lock.packages[i];
    if (chosen.contains(i)) {
      selection.packages.push_back(p);
    } else if (chosen_names.contains(p.name)) {
      selection.excluded.push_back(exclude(p, "another locked version of it was selected"));
    } else if (auto it = name_why_not.find(p.name); it != name_why_not.end()) {
      selection.excluded.push_back(exclude(p, it->second));
    } else {
      selection.excluded.push_back(exclude(p, "not required by the selected groups"));
    }
  }
  return selection;
}

// ---- poetry.lock 1.x without a pyproject.toml: category ----

Result<Selection> select_poetry_category(const Lock& lock, const Target& target, Selection selection) {
  std::set<std::string> extra_names = extra_package_names(lock, target.extras);
  for (const auto& p : lock.packages) {
    std::string category = p.category.value_or("main");
    if (!target.groups.contains(category)) {
      selection.excluded.push_back(exclude(p, fmt::format("category \"{}\" is not selected", category)));
    } else if (p.optional && !extra_names.contains(p.name)) {
      selection.excluded.push_back(exclude(p, "optional; no requested extra needs it"));
    } else if (p.marker && !holds_with_extras(*p.marker, target, target.extras)) {
      selection.excluded.push_back(
          exclude(p, fmt::format("marker is false for the target: {}", p.marker->str())));
    } else {
      selection.packages.push_back(p);
    }
  }
  return selection;
}

Result<Selection> select_for(const Lock& lock, const SelectionRequest& request) {
  if (lock.format != Format::uv && (!request.packages.empty() || request.all_packages))
    return fail(ErrorKind::usage, fmt::format("{}: --package and --all-packages choose members of a uv.lock "
                                              "workspace; this lock has none",
                                              lock.source_name));
  auto target = make_target(lock, request);
  if (!target) return std::unexpected(target.error());
  if (auto ok = check_requires_python(lock, *target); !ok) return std::unexpected(ok.error());
  Selection selection;
  selection.groups.assign(target->groups.begin(), target->groups.end());
  selection.extras.assign(target->extras.begin(), target->extras.end());
  // A requirements file: every line whose marker holds, as a pylock without groups.
  if (lock.format == Format::pylock || lock.format == Format::requirements)
    return select_pylock(lock, *target, std::move(selection));
  if (lock.format == Format::uv) {
    if (auto ok = check_environments(lock, *target); !ok) return std::unexpected(ok.error());
    UvTarget uv{&request.environment, target->groups, target->extras, request.packages, request.all_packages};
    return uv_select(lock, uv, std::move(selection));
  }
  if (lock.format == Format::pdm || lock.format == Format::pipfile)
    return select_by_groups(lock, *target, std::move(selection));
  if (lock.format == Format::manifest) {
    // A manifest holds what `strata plan` already selected for its target: all of it.
    selection.packages = lock.packages;
    return selection;
  }
  if (lock.groups_and_markers) return select_poetry_groups(lock, *target, std::move(selection));
  if (lock.has_project) return select_poetry_walk(lock, *target, std::move(selection));
  return select_poetry_category(lock, *target, std::move(selection));
}

}  // namespace

Result<Selection> select(const Lock& lock, const SelectionRequest& request) {
  auto selection = select_for(lock, request);
  if (!selection) return selection;
  // One distribution per name reaches an install, whatever the lock format says.
  std::map<std::string, const Package*> seen;
  for (const auto& p : selection->packages) {
    auto [it, inserted] = seen.emplace(p.name, &p);
    if (!inserted)
      return fail(ErrorKind::usage,
                  fmt::format("{}: two locked versions of \"{}\" are selected for this target: {} and {}",
                              lock.source_name, p.display_name, it->second->version_text, p.version_text));
  }
  return selection;
}

Artifact hash_only_artifact(std::string_view algorithm, std::string_view hex) {
  Artifact out;
  out.hashes[util::to_lower(algorithm)] = util::to_lower(hex);
  return out;
}

bool is_hash_only(const Artifact& artifact) {
  return artifact.filename.empty() && artifact.url.empty() && artifact.path.empty() &&
         !artifact.hashes.empty();
}

bool is_installable(const Package& package) {
  if (package.source.kind == SourceKind::directory || package.source.kind == SourceKind::vcs) return false;
  for (const auto& a : package.artifacts) {
    if (a.kind == Artifact::Kind::wheel) return true;
  }
  // Index packages from old Poetry locks may list hashes without file names; fetch decides then.
  return package.artifacts.empty() && package.source.kind == SourceKind::index;
}

const char* to_string(SourceKind kind) {
  switch (kind) {
    case SourceKind::index:
      return "index";
    case SourceKind::url:
      return "url";
    case SourceKind::file:
      return "file";
    case SourceKind::directory:
      return "directory";
    case SourceKind::vcs:
      return "vcs";
  }
  return "index";
}

}  // namespace strata::lock
