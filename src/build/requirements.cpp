#include "build/requirements.hpp"

#include <algorithm>
#include <deque>
#include <map>
#include <set>

#include <fmt/format.h>

#include "env/installed.hpp"
#include "pep/name.hpp"
#include "pep/requirement.hpp"
#include "pep/specifier.hpp"
#include "pep/tags.hpp"
#include "util/strings.hpp"

namespace strata::build::detail {
namespace {

struct Seen {
  pep::SpecifierSet specifier;
  std::string text;    // the requirement as written
  std::string origin;  // who asked
};

struct Choice {
  Pin pin;
  std::vector<pep::Requirement> requires_dist;
  std::set<std::string> expanded_extras;  // extras whose dependencies were queued ("" = base)
};

class Chooser {
 public:
  Chooser(const env::Interpreter& interpreter, const std::vector<BuildConstraint>* constraints,
          PackageIndex& index)
      : interpreter_(interpreter), constraints_(constraints), index_(index) {
    auto tags = pep::supported_tags(interpreter.tag_env);
    for (std::size_t i = 0; i < tags.size(); ++i) rank_.try_emplace(tags[i].str(), i);
    auto python =
        pep::Version::parse(fmt::format("{}.{}.{}", interpreter.major, interpreter.minor, interpreter.micro));
    if (python) python_ = *python;
  }

  Result<std::vector<Pin>> run(const std::vector<Wanted>& wanted,
                               const std::vector<SpecifierConstraint>& specifier_constraints) {
    for (const auto& c : specifier_constraints) {
      auto parsed = pep::Requirement::parse(c.text);
      if (!parsed)
        return fail(ErrorKind::usage, fmt::format("build constraint \"{}\" ({}): {}", c.text, c.origin,
                                                  parsed.error().message));
      if (parsed->marker && !parsed->marker->evaluate(pep::MarkerContext{&interpreter_.markers, "", {}, {}}))
        continue;
      limits_[pep::normalize_name(parsed->name)].push_back({parsed->specifier, c.text, c.origin});
    }
    // Specifiers only accumulate, so each restart (a later requirement excluded an earlier
    // choice) chooses among fewer versions: this ends.
    for (int round = 0; round < 100; ++round) {
      auto done = one_round(wanted);
      if (!done) return std::unexpected(done.error());
      if (*done) {
        std::vector<Pin> out;
        for (auto& [name, choice] : chosen_) out.push_back(choice.pin);
        return out;
      }
    }
    return fail(ErrorKind::runtime, "build requirements: no stable choice after 100 rounds");
  }

 private:
  struct Item {
    pep::Requirement requirement;
    std::string text;
    std::string origin;
  };

  // One pass over the requirement graph; false when a choice had to be revised.
  Result<bool> one_round(const std::vector<Wanted>& wanted) {
    chosen_.clear();
    std::deque<Item> queue;
    for (const auto& w : wanted) {
      auto parsed = pep::Requirement::parse(w.text);
      if (!parsed)
        return fail(ErrorKind::runtime, fmt::format("build requirement \"{}\" ({}): {}", w.text, w.origin,
                                                    parsed.error().message));
      if (!parsed->url.empty())
        return fail(ErrorKind::runtime,
                    fmt::format("build requirement \"{}\" ({}): URL requirements are not supported", w.text,
                                w.origin));
      if (parsed->marker && !parsed->marker->evaluate(pep::MarkerContext{&interpreter_.markers, "", {}, {}}))
        continue;
      queue.push_back({std::move(*parsed), w.text, w.origin});
    }
    while (!queue.empty()) {
      Item item = std::move(queue.front());
      queue.pop_front();
      std::string name = pep::normalize_name(item.requirement.name);
      auto& seen = seen_[name];
      bool known = std::any_of(seen.begin(), seen.end(),
                               [&](const Seen& s) { return s.text == item.text && s.origin == item.origin; });
      if (!known) seen.push_back({item.requirement.specifier, item.text, item.origin});
      if (auto limit = limits_.find(name); limit != limits_.end()) {
        for (const auto& l : limit->second) {
          if (std::none_of(seen.begin(), seen.end(),
                           [&](const Seen& s) { return s.text == l.text && s.origin == l.origin; }))
            seen.push_back(l);
        }
      }
      std::set<std::string> extras{""};
      for (const auto& e : item.requirement.extras) extras.insert(pep::normalize_name(e));
      auto it = chosen_.find(name);
      if (it == chosen_.end()) {
        auto choice = choose(name);
        if (!choice) return std::unexpected(choice.error());
        it = chosen_.emplace(name, std::move(*choice)).first;
      } else if (!item.requirement.specifier.contains(it->second.pin.version, true)) {
        return false;
      }
      for (const auto& extra : extras) {
        if (!it->second.expanded_extras.insert(extra).second) continue;
        for (const auto& dependency : it->second.requires_dist) {
          if (dependency.marker &&
              !dependency.marker->evaluate(pep::MarkerContext{&interpreter_.markers, extra, {}, {}}))
            continue;
          if (!dependency.marker && !extra.empty()) continue;  // queued with the base already
          queue.push_back({dependency, dependency.str(), it->second.pin.str()});
        }
      }
    }
    return true;
  }

  std::string describe(const std::string& name) const {
    std::vector<std::string> parts;
    for (const auto& s : seen_.at(name)) parts.push_back(fmt::format("\"{}\" (from {})", s.text, s.origin));
    return util::join(parts, " and ");
  }

  const BuildConstraint* constraint_for(const std::string& name) const {
    for (const auto& c : *constraints_) {
      if (c.name != name) continue;
      if (c.marker.empty()) return &c;
      auto marker = pep::Marker::parse(c.marker);
      if (marker && marker->evaluate(pep::MarkerContext{&interpreter_.markers, "", {}, {}})) return &c;
    }
    return nullptr;
  }

  // The file's best tag rank for the interpreter, or nullopt when it cannot be used.
  std::optional<std::size_t> usable(const fetch::IndexFile& file, const pep::WheelFilename& parsed) const {
    if (file.requires_python) {
      auto spec = pep::SpecifierSet::parse(*file.requires_python);
      if (spec && !spec->contains(python_, true)) return std::nullopt;
    }
    std::optional<std::size_t> best;
    for (const auto& tag : parsed.tags) {
      auto it = rank_.find(tag.str());
      if (it != rank_.end() && (!best || it->second < *best)) best = it->second;
    }
    return best;
  }

  Result<Choice> choose(const std::string& name) {
    auto files = index_.files(name);
    if (!files) return std::unexpected(files.error());
    struct Candidate {
      pep::Version version;
      std::size_t rank;
      const fetch::IndexFile* file;
    };
    std::vector<Candidate> candidates;
    for (const auto& file : *files) {
      if (!file.filename.ends_with(".whl") || file.yanked) continue;
      auto parsed = pep::WheelFilename::parse(file.filename);
      if (!parsed || parsed->name != name) continue;
      auto rank = usable(file, *parsed);
      if (!rank) continue;
      candidates.push_back({parsed->version, *rank, &file});
    }
    const auto& seen = seen_.at(name);
    auto fits = [&](const pep::Version& v, bool pre) {
      return std::all_of(seen.begin(), seen.end(),
                         [&](const Seen& s) { return s.specifier.contains(v, pre); });
    };
    const Candidate* best = nullptr;
    auto better = [&](const Candidate& c) {
      return !best || c.version > best->version || (c.version == best->version && c.rank < best->rank);
    };
    if (constraints_) {
      const BuildConstraint* pin = constraint_for(name);
      if (!pin)
        return fail(ErrorKind::runtime,
                    fmt::format("build requirement {} (wanted by {}) is not pinned in the build constraints",
                                name, describe(name)));
      auto pinned = pep::Version::parse(pin->version);
      if (!pinned)
        return fail(ErrorKind::usage, fmt::format("build constraints: {}: {}", name, pinned.error().message));
      if (!fits(*pinned, true))
        return fail(ErrorKind::runtime, fmt::format("build constraints pin {}=={}, which conflicts with {}",
                                                    name, pin->version, describe(name)));
      for (const auto& c : candidates) {
        auto sha = c.file->hashes.find("sha256");
        if (c.version != *pinned || sha == c.file->hashes.end()) continue;
        if (std::find(pin->sha256.begin(), pin->sha256.end(), sha->second) == pin->sha256.end()) continue;
        if (better(c)) best = &c;
      }
      if (!best)
        return fail(
            ErrorKind::runtime,
            fmt::format("build constraints pin {}=={}, but the index has no wheel of it for {} with one "
                        "of the pinned hashes ({} files listed)",
                        name, pin->version, interpreter_.executable.string(), files->size()));
    } else {
      bool allow_pre = std::any_of(seen.begin(), seen.end(),
                                   [](const Seen& s) { return s.specifier.prereleases().value_or(false); });
      for (int pass = 0; pass < 2 && !best; ++pass) {
        bool pre = allow_pre || pass == 1;
        for (const auto& c : candidates) {
          if (c.version.is_prerelease() && !pre) continue;
          if (fits(c.version, pre) && better(c)) best = &c;
        }
      }
      if (!best) {
        // Each specifier alone satisfiable: the specifiers conflict; else nothing fits at all.
        bool each_alone = seen.size() > 1 && std::all_of(seen.begin(), seen.end(), [&](const Seen& s) {
                            return std::any_of(candidates.begin(), candidates.end(), [&](const Candidate& c) {
                              return s.specifier.contains(c.version, true);
                            });
                          });
        if (each_alone)
          return fail(ErrorKind::runtime, fmt::format("build requirements conflict: {}", describe(name)));
        return fail(
            ErrorKind::runtime,
            fmt::format("no wheel of {} satisfying {} for Python {} ({}) on the index ({} files listed, {} "
                        "usable wheels); build requirements are installed from wheels only",
                        name, describe(name), interpreter_.version, interpreter_.executable.string(),
                        files->size(), candidates.size()));
      }
    }
    auto sha = best->file->hashes.find("sha256");
    if (sha == best->file->hashes.end())
      return fail(
          ErrorKind::runtime,
          fmt::format("build requirement {}: the index gives no sha256 for {}; strata verifies every file",
                      name, best->file->filename));
    Choice choice{Pin{name, best->version, *best->file, sha->second}, {}, {}};
    auto metadata = index_.metadata(*best->file, sha->second);
    if (!metadata) return std::unexpected(metadata.error());
    for (const auto& text : env::MetadataHeaders::parse(*metadata).get_all("Requires-Dist")) {
      auto parsed = pep::Requirement::parse(text);
      if (!parsed)
        return fail(ErrorKind::runtime, fmt::format("{}: Requires-Dist \"{}\" does not parse: {}",
                                                    best->file->filename, text, parsed.error().message));
      choice.requires_dist.push_back(std::move(*parsed));
    }
    return choice;
  }

  const env::Interpreter& interpreter_;
  const std::vector<BuildConstraint>* constraints_;
  PackageIndex& index_;
  std::map<std::string, std::size_t> rank_;
  pep::Version python_ = pep::Version::from_parts(0, {3});
  std::map<std::string, std::vector<Seen>> seen_;
  std::map<std::string, std::vector<Seen>> limits_;  // specifier constraints whose marker holds
  std::map<std::string, Choice> chosen_;
};

}  // namespace

Result<std::vector<Pin>> choose_requirements(const std::vector<Wanted>& wanted,
                                             const env::Interpreter& interpreter,
                                             const std::vector<BuildConstraint>* constraints,
                                             PackageIndex& index,
                                             const std::vector<SpecifierConstraint>& specifier_constraints) {
  Chooser chooser(interpreter, constraints, index);
  return chooser.run(wanted, specifier_constraints);
}

}  // namespace strata::build::detail
