#include "plan/index_sizes.hpp"

#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "fetch/curl_transport.hpp"
#include "fetch/hash.hpp"
#include "fetch/url.hpp"
#include "util/fs.hpp"

namespace strata::plan {
namespace fs = std::filesystem;
namespace {

using Sizes = std::map<std::string, std::uint64_t>;  // file name -> bytes

fs::path cache_file(const fs::path& root, const std::string& page_url) {
  fetch::Sha256 sha;
  sha.update(fetch::strip_userinfo(page_url));
  return root / "index-sizes" / (sha.hex_digest().substr(0, 32) + ".json");
}

std::optional<Sizes> read_cache(const fs::path& file) {
  std::error_code ec;
  if (!fs::exists(file, ec)) return std::nullopt;
  auto text = util::read_file(file);
  if (!text) return std::nullopt;
  auto doc = nlohmann::json::parse(*text, nullptr, false);
  if (!doc.is_object() || !doc.contains("sizes") || !doc["sizes"].is_object()) return std::nullopt;
  Sizes sizes;
  for (const auto& [name, size] : doc["sizes"].items())
    if (size.is_number_unsigned()) sizes[name] = size.get<std::uint64_t>();
  return sizes;
}

std::optional<std::uint64_t> largest(const Sizes& sizes, const std::vector<std::string>& filenames) {
  std::optional<std::uint64_t> out;
  for (const auto& name : filenames)
    if (auto it = sizes.find(name); it != sizes.end() && (!out || it->second > *out)) out = it->second;
  return out;
}

}  // namespace

std::vector<std::optional<std::uint64_t>> index_sizes(const std::vector<SizeQuery>& queries,
                                                      const fetch::FetchOptions& options,
                                                      SizeLookupStats& stats) {
  std::vector<std::optional<std::uint64_t>> out(queries.size());
  std::vector<std::size_t> missing;
  std::map<std::string, std::optional<Sizes>> cached;  // page URL -> cache entry
  for (std::size_t i = 0; i < queries.size(); ++i) {
    std::string url = fetch::project_page_for(queries[i].request, options);
    auto it = cached.find(url);
    if (it == cached.end()) it = cached.emplace(url, read_cache(cache_file(options.cache_dir, url))).first;
    if (it->second) out[i] = largest(*it->second, queries[i].filenames);
    if (out[i])
      ++stats.from_cache;
    else if (!it->second || !options.offline)
      missing.push_back(i);
  }
  if (options.offline || missing.empty()) return out;

  std::vector<fetch::ArtifactRequest> requests;
  for (std::size_t i : missing) requests.push_back(queries[i].request);
  fetch::CurlGlobal curl;
  fetch::CurlTransport transport(curl, {.ca_file = fetch::ca_file_from_env().path});
  fetch::CredentialResolver credentials(fetch::process_env());
  fetch::ProgressObserver quiet;
  auto pages = fetch::fetch_project_pages(requests, options, transport, credentials, quiet);
  std::map<std::string, bool> written;
  for (std::size_t k = 0; k < missing.size(); ++k) {
    std::string url = fetch::project_page_for(requests[k], options);
    auto [seen, first] = written.try_emplace(url, false);
    if (first) ++stats.requested;
    if (!pages[k]) {
      if (first)
        stats.warnings.push_back(
            fmt::format("{}: sizes unknown: {}", fetch::redact_url(url), pages[k].error().message));
      continue;
    }
    Sizes sizes;
    for (const auto& file : pages[k]->files)
      if (file.size) sizes[file.filename] = *file.size;
    out[missing[k]] = largest(sizes, queries[missing[k]].filenames);
    if (first) {
      nlohmann::json doc = {{"url", fetch::redact_url(url)}, {"sizes", sizes}};
      fs::path file = cache_file(options.cache_dir, url);
      std::error_code ec;
      fs::create_directories(file.parent_path(), ec);
      // The cache is an optimisation: a failed write only means the next plan asks again.
      (void)util::write_file_atomic(file, doc.dump(1) + "\n", util::Durability::process_crash);
    }
  }
  return out;
}

}  // namespace strata::plan
