#include "env/ledger.hpp"

#include <algorithm>
#include <system_error>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "pep/name.hpp"
#include "util/fs.hpp"

namespace strata::env {
namespace fs = std::filesystem;

namespace {

constexpr int kLegacyFormat = 1;  // <env>/.strata/ledger.json: every owner in one file
constexpr int kOwnerFormat = 2;   // <env>/.strata/owners/<owner>.json: one owner

std::string repair_hint(std::string_view source) {
  return fmt::format(
      "; to repair, restore it or delete {} (strata then treats the distributions it listed as "
      "unmanaged; re-run the install with --allow-replace to take them back)",
      source);
}

Result<std::string> required_string(const nlohmann::json& object, const char* key, std::string_view source,
                                    std::string_view name) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_string())
    return fail(ErrorKind::runtime, fmt::format("{}: distribution \"{}\": expected a string for \"{}\"{}",
                                                source, name, key, repair_hint(source)));
  return it->get<std::string>();
}

// One distribution object; `owner` is the file's owner (format 2) or nullopt (format 1: each
// entry names its own).
Result<LedgerEntry> parse_entry(const std::string& key, const nlohmann::json& value, std::string_view source,
                                const std::optional<std::string>& owner) {
  if (!value.is_object())
    return fail(ErrorKind::runtime, fmt::format("{}: distribution \"{}\": expected an object{}", source, key,
                                                repair_hint(source)));
  LedgerEntry entry;
  entry.name = pep::normalize_name(key);
  if (entry.name != key)
    return fail(ErrorKind::runtime, fmt::format("{}: distribution \"{}\": key is not a normalized name{}",
                                                source, key, repair_hint(source)));
  std::vector<std::pair<const char*, std::string*>> fields = {{"version", &entry.version},
                                                              {"wheel", &entry.wheel},
                                                              {"sha256", &entry.sha256},
                                                              {"dist_info", &entry.dist_info}};
  if (owner)
    entry.owner = *owner;
  else
    fields.insert(fields.begin() + 1, {"owner", &entry.owner});
  for (auto [field, target] : fields) {
    auto string = required_string(value, field, source, key);
    if (!string) return std::unexpected(string.error());
    *target = std::move(*string);
  }
  if (auto it = value.find("installed_at"); it != value.end()) {
    if (!it->is_string())
      return fail(ErrorKind::runtime,
                  fmt::format("{}: distribution \"{}\": expected a string for \"installed_at\"{}", source,
                              key, repair_hint(source)));
    entry.installed_at = it->get<std::string>();
  }
  if (auto it = value.find("built_from"); it != value.end() && it->is_string())
    entry.built_from = it->get<std::string>();
  if (auto it = value.find("build_requirements"); it != value.end() && it->is_array())
    for (const auto& r : *it)
      if (r.is_string()) entry.build_requirements.push_back(r.get<std::string>());
  return entry;
}

bool exists(const std::string& path) {
  std::error_code ec;
  return !path.empty() && fs::exists(path, ec);
}

}  // namespace

Result<std::string> lock_owner(const fs::path& lock_file) {
  std::error_code ec;
  fs::path absolute = fs::absolute(lock_file, ec);
  if (ec)
    return fail(ErrorKind::runtime,
                fmt::format("{}: cannot make absolute: {}", lock_file.string(), ec.message()));
  fs::path resolved = fs::weakly_canonical(absolute, ec);
  if (ec) resolved = absolute.lexically_normal();
  return "lock:" + resolved.string();
}

std::string layer_owner(std::string_view project, std::string_view layer_name) {
  if (project.empty()) return fmt::format("layer:{}", layer_name);
  return fmt::format("layer:{}/{}", project, layer_name);
}

Result<std::string> project_owner(std::string_view name, std::string_view what) {
  if (!pep::is_valid_name(name))
    return fail(
        ErrorKind::usage,
        fmt::format("{} \"{}\" is not a project name (letters, digits, \".\", \"-\" and \"_\", starting "
                    "and ending with a letter or digit)",
                    what, name));
  return pep::normalize_name(name);
}

std::string owner_file_name(std::string_view owner) {
  std::string out;
  for (char c : owner) {
    auto u = static_cast<unsigned char>(c);
    if ((u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || c == '-' || c == '_')
      out += c;
    else
      out += fmt::format("%{:02X}", u);
  }
  return out + ".json";
}

fs::path Ledger::owners_dir(const fs::path& env_dir) { return env_dir / ".strata" / "owners"; }

fs::path Ledger::file_for(const fs::path& env_dir, std::string_view owner) {
  return owners_dir(env_dir) / owner_file_name(owner);
}

fs::path Ledger::legacy_file_for(const fs::path& env_dir) { return env_dir / ".strata" / "ledger.json"; }

Result<Ledger> Ledger::load(const fs::path& env_dir) {
  Ledger ledger;
  auto read_one = [&](const fs::path& file) -> Result<Ledger> {
    auto text = util::read_file(file);
    if (!text) return std::unexpected(text.error());
    return parse(*text, file.string());
  };

  std::error_code ec;
  const fs::path legacy = legacy_file_for(env_dir);
  if (fs::exists(legacy, ec)) {
    auto old = read_one(legacy);
    if (!old) return std::unexpected(old.error());
    ledger.entries_ = std::move(old->entries_);
    ledger.legacy_ = true;
    ledger.files_.push_back(legacy);
  } else if (ec) {
    return fail(ErrorKind::runtime, fmt::format("{}: cannot stat: {}", legacy.string(), ec.message()));
  }

  const fs::path dir = owners_dir(env_dir);
  std::vector<fs::path> files;
  if (fs::is_directory(dir, ec)) {
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      const std::string name = it->path().filename().string();
      // Skips what an interrupted atomic write left (NAME.tmp.PID.X) and anything not ours.
      if (name.starts_with(".") || !name.ends_with(".json")) continue;
      files.push_back(it->path());
    }
    if (ec) return fail(ErrorKind::runtime, fmt::format("{}: cannot list: {}", dir.string(), ec.message()));
  }
  std::sort(files.begin(), files.end());
  std::set<std::string, std::less<>> claimed;  // names an owner file holds
  for (const fs::path& file : files) {
    auto text = util::read_file(file);
    if (!text) return std::unexpected(text.error());
    auto one = parse(*text, file.string());
    if (!one) return std::unexpected(one.error());
    if (one->on_disk_.size() != 1)
      return fail(ErrorKind::runtime, fmt::format("{}: expected an owner file (format {}){}", file.string(),
                                                  kOwnerFormat, repair_hint(file.string())));
    const std::string& owner = one->on_disk_.begin()->first;
    if (owner_file_name(owner) != file.filename().string())
      return fail(ErrorKind::runtime, fmt::format("{}: holds owner \"{}\", whose file is {}{}", file.string(),
                                                  owner, owner_file_name(owner), repair_hint(file.string())));
    ledger.on_disk_[owner] = std::move(*text);
    ledger.files_.push_back(file);
    for (auto& [name, entry] : one->entries_) {
      auto it = ledger.entries_.find(name);
      // Two owner files claim one name only when a run stopped between writing the new owner's
      // file and the old one's (a forced replacement): the claim whose .dist-info exists wins.
      if (it != ledger.entries_.end() && claimed.contains(name) && exists(it->second.dist_info) &&
          !exists(entry.dist_info))
        continue;
      claimed.insert(name);
      ledger.entries_.insert_or_assign(name, std::move(entry));
    }
  }
  return ledger;
}

Result<Ledger> Ledger::parse(std::string_view text, std::string_view source) {
  nlohmann::json document = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded())
    return fail(ErrorKind::runtime, fmt::format("{}: not valid JSON{}", source, repair_hint(source)));
  if (!document.is_object())
    return fail(ErrorKind::runtime, fmt::format("{}: expected a JSON object{}", source, repair_hint(source)));
  auto format = document.find("format");
  if (format == document.end() || !format->is_number_integer())
    return fail(ErrorKind::runtime,
                fmt::format("{}: missing integer \"format\"{}", source, repair_hint(source)));
  const long long version = format->get<long long>();
  if (version != kLegacyFormat && version != kOwnerFormat)
    return fail(
        ErrorKind::runtime,
        fmt::format("{}: ledger format {} is not supported by this strata (it reads formats {} and {}); use "
                    "the strata version that wrote it",
                    source, format->dump(), kLegacyFormat, kOwnerFormat));
  std::optional<std::string> owner;
  if (version == kOwnerFormat) {
    auto it = document.find("owner");
    if (it == document.end() || !it->is_string() || it->get<std::string>().empty())
      return fail(ErrorKind::runtime, fmt::format("{}: expected a non-empty string for \"owner\"{}", source,
                                                  repair_hint(source)));
    owner = it->get<std::string>();
  }
  auto distributions = document.find("distributions");
  if (distributions == document.end() || !distributions->is_object())
    return fail(ErrorKind::runtime,
                fmt::format("{}: expected an object for \"distributions\"{}", source, repair_hint(source)));

  Ledger ledger;
  if (owner) ledger.on_disk_[*owner] = std::string(text);
  for (const auto& [key, value] : distributions->items()) {
    auto entry = parse_entry(key, value, source, owner);
    if (!entry) return std::unexpected(entry.error());
    ledger.entries_.emplace(entry->name, std::move(*entry));
  }
  return ledger;
}

std::string Ledger::dump(std::string_view owner) const {
  nlohmann::json distributions = nlohmann::json::object();
  for (const auto& [name, entry] : entries_) {
    if (entry.owner != owner) continue;
    nlohmann::json object = {{"version", entry.version},
                             {"wheel", entry.wheel},
                             {"sha256", entry.sha256},
                             {"dist_info", entry.dist_info}};
    if (entry.installed_at) object["installed_at"] = *entry.installed_at;
    if (entry.built_from) {
      object["built_from"] = *entry.built_from;
      object["build_requirements"] = entry.build_requirements;
    }
    distributions[name] = std::move(object);
  }
  nlohmann::json document = {
      {"format", kOwnerFormat}, {"owner", owner}, {"distributions", std::move(distributions)}};
  return document.dump(2) + "\n";
}

Result<void> Ledger::save(const fs::path& env_dir) {
  const std::set<std::string> now = owners();
  std::error_code ec;
  for (const std::string& owner : now) {
    std::string text = dump(owner);
    auto it = on_disk_.find(owner);
    if (it != on_disk_.end() && it->second == text) continue;
    fs::create_directories(owners_dir(env_dir), ec);
    if (ec)
      return fail(ErrorKind::runtime,
                  fmt::format("{}: cannot create directory: {}", owners_dir(env_dir).string(), ec.message()));
    // Not fsynced, like the files it describes; a ledger lost with a power cut is rebuilt from
    // INSTALLER = strata at the locked versions (run_install adopts such distributions).
    auto written = util::write_file_atomic(file_for(env_dir, owner), text, util::Durability::process_crash);
    if (!written) return written;
    on_disk_.insert_or_assign(owner, std::move(text));
  }
  for (auto it = on_disk_.begin(); it != on_disk_.end();) {
    if (now.contains(it->first)) {
      ++it;
      continue;
    }
    fs::path file = file_for(env_dir, it->first);
    if (!fs::remove(file, ec) && ec)
      return fail(ErrorKind::runtime, fmt::format("{}: cannot remove: {}", file.string(), ec.message()));
    it = on_disk_.erase(it);
  }
  if (legacy_) {
    fs::path legacy = legacy_file_for(env_dir);
    if (!fs::remove(legacy, ec) && ec)
      return fail(ErrorKind::runtime, fmt::format("{}: cannot remove: {}", legacy.string(), ec.message()));
    legacy_ = false;
  }
  return {};
}

void Ledger::record_install(LedgerEntry entry) {
  entry.name = pep::normalize_name(entry.name);
  std::string key = entry.name;
  entries_.insert_or_assign(std::move(key), std::move(entry));
}

bool Ledger::record_removal(std::string_view name) {
  auto it = entries_.find(pep::normalize_name(name));
  if (it == entries_.end()) return false;
  entries_.erase(it);
  return true;
}

std::size_t Ledger::reassign(std::string_view from, std::string_view to) {
  std::size_t moved = 0;
  for (auto& [name, entry] : entries_) {
    if (entry.owner != from) continue;
    entry.owner = std::string(to);
    ++moved;
  }
  return moved;
}

std::set<std::string> Ledger::owners() const {
  std::set<std::string> out;
  for (const auto& [name, entry] : entries_) out.insert(entry.owner);
  return out;
}

const LedgerEntry* Ledger::find(std::string_view name) const {
  auto it = entries_.find(pep::normalize_name(name));
  return it == entries_.end() ? nullptr : &it->second;
}

std::optional<std::string> Ledger::owner_of(std::string_view name) const {
  const LedgerEntry* entry = find(name);
  if (entry == nullptr) return std::nullopt;
  return entry->owner;
}

}  // namespace strata::env
