#include "env/ledger.hpp"

#include <system_error>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "pep/name.hpp"
#include "util/fs.hpp"

namespace strata::env {
namespace fs = std::filesystem;

namespace {

constexpr int kFormat = 1;

std::string repair_hint(std::string_view source) {
  return fmt::format(
      "; to repair, restore it or delete {} (strata then treats every installed distribution as "
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

std::string layer_owner(std::string_view layer_name) { return fmt::format("layer:{}", layer_name); }

fs::path Ledger::file_for(const fs::path& env_dir) { return env_dir / ".strata" / "ledger.json"; }

Result<Ledger> Ledger::load(const fs::path& env_dir) {
  fs::path file = file_for(env_dir);
  std::error_code ec;
  if (!fs::exists(file, ec)) {
    if (ec) return fail(ErrorKind::runtime, fmt::format("{}: cannot stat: {}", file.string(), ec.message()));
    return Ledger{};
  }
  auto text = util::read_file(file);
  if (!text) return std::unexpected(text.error());
  return parse(*text, file.string());
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
  if (format->get<long long>() != kFormat)
    return fail(
        ErrorKind::runtime,
        fmt::format("{}: ledger format {} is not supported by this strata (it reads format {}); use the "
                    "strata version that wrote it",
                    source, format->dump(), kFormat));
  auto distributions = document.find("distributions");
  if (distributions == document.end() || !distributions->is_object())
    return fail(ErrorKind::runtime,
                fmt::format("{}: expected an object for \"distributions\"{}", source, repair_hint(source)));

  Ledger ledger;
  for (const auto& [key, value] : distributions->items()) {
    if (!value.is_object())
      return fail(ErrorKind::runtime, fmt::format("{}: distribution \"{}\": expected an object{}", source,
                                                  key, repair_hint(source)));
    LedgerEntry entry;
    entry.name = pep::normalize_name(key);
    if (entry.name != key)
      return fail(ErrorKind::runtime, fmt::format("{}: distribution \"{}\": key is not a normalized name{}",
                                                  source, key, repair_hint(source)));
    for (auto [field, target] : {std::pair{"version", &entry.version}, std::pair{"owner", &entry.owner},
                                 std::pair{"wheel", &entry.wheel}, std::pair{"sha256", &entry.sha256},
                                 std::pair{"dist_info", &entry.dist_info}}) {
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
    ledger.entries_.emplace(entry.name, std::move(entry));
  }
  return ledger;
}

std::string Ledger::dump() const {
  nlohmann::json distributions = nlohmann::json::object();
  for (const auto& [name, entry] : entries_) {
    nlohmann::json object = {{"version", entry.version},
                             {"owner", entry.owner},
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
  nlohmann::json document = {{"format", kFormat}, {"distributions", std::move(distributions)}};
  return document.dump(2) + "\n";
}

Result<void> Ledger::save(const fs::path& env_dir) const {
  fs::path file = file_for(env_dir);
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  if (ec)
    return fail(ErrorKind::runtime,
                fmt::format("{}: cannot create directory: {}", file.parent_path().string(), ec.message()));
  // Not fsynced, like the files it describes; a ledger lost with a power cut is rebuilt from
  // INSTALLER = strata at the locked versions (run_install adopts such distributions).
  return util::write_file_atomic(file, dump(), util::Durability::process_crash);
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
