#include "fetch/fetch.hpp"

#include <deque>
#include <map>
#include <memory>
#include <system_error>

#include <fmt/format.h>

#include "fetch/cache.hpp"
#include "fetch/hash.hpp"
#include "fetch/simple_api.hpp"
#include "fetch/transfer_stream.hpp"
#include "fetch/url.hpp"
#include "util/strings.hpp"
#include "util/url.hpp"

namespace strata::fetch {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMaxPageBytes = 256u << 20;

struct MemorySink final : ResponseSink {
  std::string body;
  bool write(std::string_view data) override {
    if (body.size() + data.size() > kMaxPageBytes) return false;
    body.append(data);
    return true;
  }
  std::string refusal() const override {
    return fmt::format("the page is larger than {} MiB", kMaxPageBytes >> 20);
  }
};

// A download into a staging file that stops at the first byte beyond the expected size: a server
// streaming more never fills the disk.
struct FileSink final : ResponseSink {
  FileSink(StagingFile f, ProgressObserver& o, std::optional<std::uint64_t> max)
      : file(std::move(f)), observer(o), limit(max) {}
  StagingFile file;
  ProgressObserver& observer;
  std::optional<std::uint64_t> limit;
  std::string refused;
  bool write(std::string_view data) override {
    if (limit && data.size() > *limit - file.size()) {
      refused = fmt::format("the server sent more than the expected {} bytes; cut off", *limit);
      return false;
    }
    if (!file.write(data)) {
      refused = file.error();
      return false;
    }
    observer.on_bytes(static_cast<std::int64_t>(data.size()));
    return true;
  }
  std::string refusal() const override { return refused; }
};

bool is_default_index(std::string_view url) {
  if (url.empty()) return true;
  std::string host = url_hostname(url);
  return host == "pypi.org" || host == "pypi.python.org";
}

bool is_pypi_file(std::string_view url) {
  std::string host = url_hostname(url);
  return host == "files.pythonhosted.org" || host == "pypi.org" || host == "pypi.python.org";
}

// Where a request's file is looked up, after --index-url / --source overrides.
struct IndexChoice {
  std::string index_url;
  std::string source_name;
  bool overridden = false;  // the lock's own location for this file must not be used
};

IndexChoice choose_index(const ArtifactRequest& request, const FetchOptions& options) {
  if (!request.source_name.empty()) {
    for (const auto& [name, url] : options.source_urls) {
      if (util::iequals(name, request.source_name)) return {url, request.source_name, true};
    }
  }
  if (is_default_index(request.index_url)) {
    std::string name = request.source_name.empty() ? "pypi" : request.source_name;
    // --index-url replaces PyPI: a locked PyPI file URL is looked up on the replacement instead
    // (a mirror), while URLs on other servers stay as locked.
    if (!options.index_url.empty())
      return {options.index_url, name, request.url.empty() || is_pypi_file(request.url)};
    return {std::string(kPypiSimple), name, false};
  }
  return {request.index_url, request.source_name, false};
}

// The transfer of one project page into `sink`, with the index's credentials when it has some.
TransferJob page_job(const std::string& page_url, const IndexChoice& index, MemorySink& sink,
                     const std::optional<Credentials>& creds, CredentialResolver& credentials) {
  TransferJob job;
  job.request.url = strip_userinfo(page_url);
  job.request.headers = {fmt::format("Accept: {}", kSimpleAccept)};
  job.request.accept_compressed = true;
  if (creds) {
    job.request.username = creds->username;
    job.request.password = creds->password;
  }
  job.display_url = redact_url(page_url);
  job.begin = [&sink]() -> Result<ResponseSink*> {
    sink.body.clear();
    return &sink;
  };
  job.finish = [](const HttpResponse&) { return Verdict{}; };
  job.explain = [&credentials, index](const HttpResponse& response) {
    if (response.http_status == 401 || response.http_status == 403)
      return credentials.hint(index.source_name, index.index_url);
    if (response.http_status == 404) return std::string("the index has no such project");
    return std::string();
  };
  return job;
}

bool is_remote(std::string_view url) { return url.starts_with("http://") || url.starts_with("https://"); }

std::optional<fs::path> local_path(std::string_view url) {
  if (url.starts_with("file://")) {
    std::string rest = percent_decode(url.substr(7));
    // file:///abs/path or file://localhost/abs/path
    if (rest.starts_with("localhost/")) rest = rest.substr(9);
    return fs::path(rest);
  }
  if (url.find("://") == std::string_view::npos) return fs::path(url);
  return std::nullopt;
}

std::string hash_mismatch(const ArtifactRequest& request, std::string_view actual, std::string_view where) {
  return fmt::format(
      "{}: hash mismatch for {}: expected sha256:{}, got sha256:{} ({}); the file was discarded",
      request.package, request.filename, request.sha256, actual, where);
}

// The locally available copy of a request: find-links, the cache, or an existing --dest file.
struct Local {
  std::vector<std::string> errors;
  std::vector<std::string> notes;
};

std::optional<FetchedArtifact> find_local(const ArtifactRequest& request, const FetchOptions& options,
                                          const ArtifactCache& cache, Local& local) {
  FetchedArtifact found{request.package, request.filename, request.sha256, {}, 0, ArtifactOrigin::cache};
  std::error_code ec;
  auto place = [&](const fs::path& source, ArtifactOrigin origin) -> std::optional<FetchedArtifact> {
    found.origin = origin;
    found.size = fs::file_size(source, ec);
    if (options.dest_dir && origin != ArtifactOrigin::dest) {
      fs::path target = *options.dest_dir / request.filename;
      if (auto placed = link_or_copy(source, target); !placed) {
        local.errors.push_back(placed.error().message);
        return std::nullopt;
      }
      found.path = target;
    } else {
      found.path = source;
    }
    return found;
  };
  auto verified = [&](const fs::path& candidate, std::string_view what) {
    if (!fs::is_regular_file(candidate, ec)) return false;
    if (request.size && fs::file_size(candidate, ec) != *request.size) {
      local.notes.push_back(
          fmt::format("{}: {} has another size than the lock says; ignored", candidate.string(), what));
      return false;
    }
    auto digest = sha256_file(candidate);
    if (!digest) return false;
    if (*digest != request.sha256) {
      local.notes.push_back(fmt::format("{}: sha256 {} differs from the lock's {}; ignored",
                                        candidate.string(), *digest, request.sha256));
      return false;
    }
    return true;
  };
  if (options.dest_dir) {
    fs::path existing = *options.dest_dir / request.filename;
    if (verified(existing, "existing file")) return place(existing, ArtifactOrigin::dest);
  }
  // A lock entry that points at a local file uses it (verified like any other).
  if (!request.url.empty() && !is_remote(request.url)) {
    if (auto path = local_path(request.url); path && verified(*path, "locked path"))
      return place(*path, ArtifactOrigin::find_links);
  }
  for (const auto& dir : options.find_links) {
    fs::path candidate = dir / request.filename;
    if (verified(candidate, "find-links file")) return place(candidate, ArtifactOrigin::find_links);
  }
  // The cache is shared and writable: its content is checked like any other local copy, and an
  // entry that fails is removed so that it is downloaded again instead of failing every run.
  if (auto hit = cache.lookup(request.sha256, request.filename, std::nullopt)) {
    if (verified(*hit, "cached file")) return place(*hit, ArtifactOrigin::cache);
    if (auto gone = cache.discard(request.sha256, request.filename); !gone)
      local.errors.push_back(gone.error().message);
    else
      local.notes.push_back(fmt::format("{}: corrupt cache entry removed; fetching it again", hit->string()));
  }
  return std::nullopt;
}

// A server whose certificate is not trusted fails every file from it alike: one line per server
// and cause, with what to do, not one per file.
class CertificateFailures {
 public:
  /// True (and counted) when `job` failed on the server's certificate.
  bool add(const TransferJob& job) {
    const HttpResponse& response = job.last_response;
    if (job.succeeded || response.certificate_hint.empty()) return false;
    auto url = util::UrlParts::parse(job.display_url);
    std::string server = url ? fmt::format("{}://{}", url->scheme, url->authority) : job.display_url;
    Failure& failure = failures_[{server, response.error}];
    ++failure.files;
    failure.hint = response.certificate_hint;
    return true;
  }
  /// The lines, before the other errors.
  void prepend_to(std::vector<std::string>& errors) const {
    std::vector<std::string> lines;
    for (const auto& [server_and_cause, failure] : failures_)
      lines.push_back(fmt::format("{} ({} {}): TLS: {}; {}", server_and_cause.first, failure.files,
                                  failure.files == 1 ? "file" : "files", server_and_cause.second,
                                  failure.hint));
    errors.insert(errors.begin(), lines.begin(), lines.end());
  }

 private:
  struct Failure {
    std::size_t files = 0;
    std::string hint;
  };
  std::map<std::pair<std::string, std::string>, Failure> failures_;  ///< by server and cause
};

std::string join_errors(const std::vector<std::string>& errors) {
  if (errors.size() == 1) return errors.front();
  std::string out = fmt::format("{} files could not be fetched:", errors.size());
  for (const auto& e : errors) out += "\n  " + e;
  return out;
}

}  // namespace

const char* to_string(ArtifactOrigin origin) {
  switch (origin) {
    case ArtifactOrigin::cache:
      return "cache";
    case ArtifactOrigin::download:
      return "download";
    case ArtifactOrigin::find_links:
      return "find-links";
    case ArtifactOrigin::dest:
      return "dest";
  }
  return "download";
}

Result<std::vector<FetchedArtifact>> fetch_all(const std::vector<ArtifactRequest>& requests,
                                               const FetchOptions& options, HttpTransport& transport,
                                               CredentialResolver& credentials, ProgressObserver& observer) {
  for (const auto& request : requests) {
    if (!is_sha256_hex(request.sha256))
      return fail(ErrorKind::usage,
                  fmt::format("{}: {} has no sha256 hash in the lock; strata verifies every file",
                              request.package, request.filename));
  }
  ArtifactCache cache(options.cache_dir);
  std::vector<std::optional<FetchedArtifact>> results(requests.size());
  std::vector<std::size_t> missing;
  Local local;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    ArtifactRequest request = requests[i];
    request.sha256 = util::to_lower(request.sha256);
    if (auto found = find_local(request, options, cache, local)) {
      observer.on_detail(
          fmt::format("{}: {} from {}", request.package, request.filename, to_string(found->origin)));
      observer.on_done(*found);
      results[i] = std::move(*found);
    } else {
      missing.push_back(i);
    }
  }
  for (const auto& note : local.notes) observer.on_detail(note);
  if (!local.errors.empty()) return fail(ErrorKind::runtime, join_errors(local.errors));

  if (options.offline && !missing.empty()) {
    std::string message = fmt::format("offline: {} file{} not in the cache ({}){}:", missing.size(),
                                      missing.size() == 1 ? " is" : "s are", options.cache_dir.string(),
                                      options.find_links.empty() ? "" : " or the find-links directories");
    for (std::size_t i : missing)
      message += fmt::format("\n  {}: {} (sha256:{})", requests[i].package, requests[i].filename,
                             requests[i].sha256);
    message += "\nrun `strata fetch` with the same lock and cache, without --offline, to download them first";
    return fail(ErrorKind::runtime, message);
  }

  std::vector<std::string> errors;
  CertificateFailures certificates;
  std::vector<std::string> urls(requests.size());
  std::vector<std::optional<std::uint64_t>> sizes(requests.size());  // lock, else index
  for (std::size_t i : missing) sizes[i] = requests[i].size;
  std::vector<IndexChoice> indexes(requests.size());

  // Which credentials each index gets: resolved once and said once (never the secret).
  std::map<std::string, std::optional<Credentials>> index_credentials;
  auto credentials_for_index = [&](const IndexChoice& index) -> Result<std::optional<Credentials>> {
    std::string key = index.source_name + "\n" + index.index_url;
    if (auto it = index_credentials.find(key); it != index_credentials.end()) return it->second;
    auto found = credentials.for_source(index.source_name, index.index_url);
    if (!found) return found;
    if (*found)
      observer.on_detail(
          fmt::format("index {}: using credentials from {}", redact_url(index.index_url), (*found)->origin));
    else
      observer.on_detail(fmt::format("index {}: no credentials", redact_url(index.index_url)));
    index_credentials.emplace(key, *found);
    return found;
  };
  auto apply = [](HttpRequest& http, const std::optional<Credentials>& creds) {
    if (creds) {
      http.username = creds->username;
      http.password = creds->password;
    }
  };

  // Project pages: one request per (index, project), however many files it must yield.
  struct PageLookup {
    IndexChoice index;
    std::string page_url;
    std::vector<std::size_t> requests;
    MemorySink sink;
  };
  std::vector<std::unique_ptr<PageLookup>> pages;
  std::map<std::string, PageLookup*> page_by_url;
  for (std::size_t i : missing) {
    const ArtifactRequest& request = requests[i];
    indexes[i] = choose_index(request, options);
    if (!request.url.empty() && is_remote(request.url) && !indexes[i].overridden) {
      urls[i] = request.url;
      continue;
    }
    if (!request.url.empty() && !is_remote(request.url) && !indexes[i].overridden) {
      errors.push_back(fmt::format("{}: {}: the locked path {} does not hold the locked file",
                                   request.package, request.filename, request.url));
      continue;
    }
    std::string project = request.project.empty() ? request.package : request.project;
    std::string page_url = project_page_url(indexes[i].index_url, project);
    auto [it, added] = page_by_url.try_emplace(page_url, nullptr);
    if (added) {
      pages.push_back(std::make_unique<PageLookup>());
      pages.back()->index = indexes[i];
      pages.back()->page_url = page_url;
      it->second = pages.back().get();
    }
    it->second->requests.push_back(i);
  }

  // Pages and downloads in one run of transfers: a page that answers starts its files' downloads
  // at once, beside the pages still on their way and the files whose URL the lock has. Each
  // download is streamed into a staging file, hashed on the way, renamed into place when right.
  struct Download {
    std::size_t request;
    std::unique_ptr<FileSink> sink;
    fs::path path;
    std::size_t job = 0;  ///< its index in `jobs`
  };
  std::deque<Download> downloads;  // stable addresses: the jobs' hooks point at their entry
  std::size_t expected_files = 0;
  std::uint64_t known_bytes = 0;
  for (std::size_t i : missing)
    if (!urls[i].empty()) {
      ++expected_files;
      known_bytes += requests[i].size.value_or(0);
    }
  for (const auto& page : pages)
    for (std::size_t i : page->requests) {
      ++expected_files;
      known_bytes += requests[i].size.value_or(0);
    }
  fs::path staging;
  if (expected_files > 0) {
    if (!options.dest_dir) {
      if (auto ready = cache.ensure_root(); !ready) return std::unexpected(ready.error());
      cache.sweep_stale_staging();
    }
    staging = options.dest_dir ? *options.dest_dir : cache.staging_dir();
    observer.on_start(expected_files, known_bytes);
  }
  // The transfer of one file, or nullopt when its credentials cannot be had (said in `errors`).
  auto download_job = [&](Download& download) -> std::optional<TransferJob> {
    const ArtifactRequest& request = requests[download.request];
    const IndexChoice& index = indexes[download.request];
    const std::string& url = urls[download.request];
    const std::optional<std::uint64_t> size = sizes[download.request];
    TransferJob job;
    job.request.url = strip_userinfo(url);
    job.request.expected_size = size;
    job.display_url = redact_url(url);
    std::optional<Credentials> creds;
    if (!index.index_url.empty() && url_origin(url) == url_origin(index.index_url) && !url_userinfo(url)) {
      auto found = credentials_for_index(index);
      if (!found) {
        errors.push_back(found.error().message);
        return std::nullopt;
      }
      creds = *found;
    } else {
      auto found = credentials.for_file(url, index.source_name, index.index_url);
      if (!found) {
        errors.push_back(found.error().message);
        return std::nullopt;
      }
      creds = *found;
      if (creds)
        observer.on_detail(fmt::format("{}: using credentials from {}", job.display_url, creds->origin));
    }
    apply(job.request, creds);
    Download* d = &download;
    ProgressObserver* obs = &observer;
    job.begin = [d, obs, staging, size]() -> Result<ResponseSink*> {
      if (d->sink) obs->on_bytes(-static_cast<std::int64_t>(d->sink->file.size()));
      d->sink.reset();
      auto file = StagingFile::create(staging);
      if (!file) return std::unexpected(file.error());
      d->sink = std::make_unique<FileSink>(std::move(*file), *obs, size);
      return d->sink.get();
    };
    ArtifactRequest expected = request;
    expected.sha256 = util::to_lower(expected.sha256);
    expected.size = size;
    job.finish = [d, expected, obs, &cache, &options,
                  display = job.display_url](const HttpResponse&) -> Verdict {
      StagingFile& file = d->sink->file;
      std::uint64_t got = file.size();
      auto digest = file.finish();
      if (!digest) return {Verdict::Kind::fail, digest.error().message};
      if (expected.size && got < *expected.size)
        return {Verdict::Kind::retry, fmt::format("truncated: received {} of {} bytes of {}", got,
                                                  *expected.size, expected.filename)};
      if (*digest != expected.sha256) return {Verdict::Kind::fail, hash_mismatch(expected, *digest, display)};
      if (expected.size && got != *expected.size)
        return {Verdict::Kind::fail,
                fmt::format("{}: size mismatch for {}: expected {} bytes, got {} ({})", expected.package,
                            expected.filename, *expected.size, got, display)};
      if (options.dest_dir) {
        fs::path target = *options.dest_dir / expected.filename;
        if (auto done = file.commit(target); !done) return {Verdict::Kind::fail, done.error().message};
        d->path = target;
      } else {
        auto placed = cache.insert(file, expected.sha256, expected.filename);
        if (!placed) return {Verdict::Kind::fail, placed.error().message};
        d->path = *placed;
      }
      obs->on_done(FetchedArtifact{expected.package, expected.filename, expected.sha256, d->path, got,
                                   ArtifactOrigin::download});
      return {};
    };
    job.explain = [&credentials, index](const HttpResponse& response) {
      if (response.http_status == 401 || response.http_status == 403)
        return credentials.hint(index.source_name, index.index_url);
      return std::string();
    };
    return job;
  };

  std::vector<TransferJob> jobs;
  for (auto& page : pages) {
    auto creds = credentials_for_index(page->index);
    if (!creds) return std::unexpected(creds.error());
    jobs.push_back(page_job(page->page_url, page->index, page->sink, *creds, credentials));
  }
  for (std::size_t i : missing) {
    if (urls[i].empty()) continue;
    downloads.push_back({i, nullptr, {}, jobs.size()});
    if (auto job = download_job(downloads.back()))
      jobs.push_back(std::move(*job));
    else
      downloads.pop_back();
  }
  // A page that answered: its files' URLs (and sizes) from the listing, then their downloads.
  auto page_answered = [&](std::size_t j, std::vector<TransferJob>& more) {
    if (j >= pages.size()) return;
    PageLookup& page = *pages[j];
    if (certificates.add(jobs[j])) return;
    if (!jobs[j].succeeded) {
      std::vector<std::string> files;
      for (std::size_t i : page.requests) files.push_back(requests[i].filename);
      errors.push_back(fmt::format("{} (looking up {})", jobs[j].error->message, util::join(files, ", ")));
      return;
    }
    std::string base =
        jobs[j].last_response.effective_url.empty() ? page.page_url : jobs[j].last_response.effective_url;
    auto parsed = parse_project_page(page.sink.body, jobs[j].last_response.content_type, base);
    if (!parsed) {
      errors.push_back(fmt::format("{}: {}", redact_url(page.page_url), parsed.error().message));
      return;
    }
    observer.on_detail(fmt::format("{}: {} files listed", redact_url(page.page_url), parsed->files.size()));
    for (std::size_t i : page.requests) {
      const IndexFile* file = parsed->find(requests[i].filename);
      if (!file) {
        errors.push_back(fmt::format("{}: {} is not listed on {} ({} files are)", requests[i].package,
                                     requests[i].filename, redact_url(page.page_url), parsed->files.size()));
        continue;
      }
      if (file->size && requests[i].size && *file->size != *requests[i].size) {
        errors.push_back(fmt::format("{}: {}: {} lists {} bytes, the lock {}", requests[i].package,
                                     requests[i].filename, redact_url(page.page_url), *file->size,
                                     *requests[i].size));
        continue;
      }
      urls[i] = file->url;
      if (!sizes[i]) sizes[i] = file->size;
      downloads.push_back({i, nullptr, {}, jobs.size() + more.size()});
      if (auto job = download_job(downloads.back()))
        more.push_back(std::move(*job));
      else
        downloads.pop_back();
    }
  };
  if (!jobs.empty()) run_transfers(jobs, transport, options.limits, observer, page_answered);
  for (Download& d : downloads) {
    const TransferJob& job = jobs[d.job];
    const ArtifactRequest& request = requests[d.request];
    if (certificates.add(job)) {
      d.sink.reset();
      continue;
    }
    if (!job.succeeded) {
      if (!job.error) continue;  // an interrupt stopped the run before this job was added
      errors.push_back(
          job.error->message.starts_with(request.package)
              ? job.error->message
              : fmt::format("{}: {}: {}", request.package, request.filename, job.error->message));
      d.sink.reset();  // removes the staging file
      continue;
    }
    FetchedArtifact artifact{request.package, request.filename,    util::to_lower(request.sha256),
                             d.path,          d.sink->file.size(), ArtifactOrigin::download};
    results[d.request] = std::move(artifact);
  }

  certificates.prepend_to(errors);
  if (!errors.empty()) return fail(ErrorKind::runtime, join_errors(errors));
  std::vector<FetchedArtifact> out;
  out.reserve(results.size());
  for (auto& r : results) {
    if (!r) return fail(ErrorKind::runtime, "internal error: a file was neither found nor fetched");
    out.push_back(std::move(*r));
  }
  return out;
}

std::string project_page_for(const ArtifactRequest& request, const FetchOptions& options) {
  if (!request.page_url.empty()) return request.page_url;
  return project_page_url(choose_index(request, options).index_url,
                          request.project.empty() ? request.package : request.project);
}

std::vector<Result<FetchedArtifact>> fetch_unhashed(const std::vector<ArtifactRequest>& requests,
                                                    const FetchOptions& options, HttpTransport& transport,
                                                    CredentialResolver& credentials,
                                                    ProgressObserver& observer) {
  std::vector<Result<FetchedArtifact>> out(requests.size(), fail(ErrorKind::runtime, "not downloaded"));
  if (requests.empty()) return out;
  ArtifactCache cache(options.cache_dir);
  if (auto ready = cache.ensure_root(); !ready) {
    for (auto& r : out) r = std::unexpected(ready.error());
    return out;
  }
  struct Download {
    std::unique_ptr<FileSink> sink;
    std::optional<FetchedArtifact> done;
  };
  std::vector<Download> downloads(requests.size());
  std::vector<TransferJob> jobs;
  std::vector<std::size_t> job_request;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const ArtifactRequest& request = requests[i];
    auto creds = credentials.for_file(request.url, "", "");
    if (!creds) {
      out[i] = std::unexpected(creds.error());
      continue;
    }
    TransferJob job;
    job.request.url = strip_userinfo(request.url);
    job.display_url = redact_url(request.url);
    if (*creds) {
      job.request.username = (*creds)->username;
      job.request.password = (*creds)->password;
    }
    Download* d = &downloads[i];
    ProgressObserver* obs = &observer;
    fs::path staging = cache.staging_dir();
    job.begin = [d, obs, staging]() -> Result<ResponseSink*> {
      d->sink.reset();
      auto file = StagingFile::create(staging);
      if (!file) return std::unexpected(file.error());
      d->sink = std::make_unique<FileSink>(std::move(*file), *obs, std::nullopt);
      return d->sink.get();
    };
    job.finish = [d, &cache, request](const HttpResponse&) -> Verdict {
      StagingFile& file = d->sink->file;
      std::uint64_t got = file.size();
      auto digest = file.finish();
      if (!digest) return {Verdict::Kind::fail, digest.error().message};
      auto placed = cache.insert(file, *digest, request.filename);
      if (!placed) return {Verdict::Kind::fail, placed.error().message};
      d->done =
          FetchedArtifact{request.package, request.filename, *digest, *placed, got, ArtifactOrigin::download};
      return {};
    };
    jobs.push_back(std::move(job));
    job_request.push_back(i);
  }
  run_transfers(jobs, transport, options.limits, observer);
  for (std::size_t k = 0; k < jobs.size(); ++k) {
    Download& d = downloads[job_request[k]];
    if (jobs[k].succeeded && d.done)
      out[job_request[k]] = std::move(*d.done);
    else
      out[job_request[k]] =
          fail(ErrorKind::runtime, jobs[k].error ? jobs[k].error->message : std::string("download failed"));
    d.sink.reset();
  }
  return out;
}

std::vector<Result<ProjectPage>> fetch_project_pages(const std::vector<ArtifactRequest>& requests,
                                                     const FetchOptions& options, HttpTransport& transport,
                                                     CredentialResolver& credentials,
                                                     ProgressObserver& observer) {
  struct Page {
    IndexChoice index;
    std::string url;
    MemorySink sink;
  };
  std::vector<std::unique_ptr<Page>> pages;
  std::map<std::string, std::size_t> page_by_url;
  std::vector<std::size_t> page_of(requests.size());
  for (std::size_t i = 0; i < requests.size(); ++i) {
    std::string url = project_page_for(requests[i], options);
    auto [it, added] = page_by_url.try_emplace(url, pages.size());
    if (added) {
      pages.push_back(std::make_unique<Page>());
      pages.back()->index = requests[i].page_url.empty() ? choose_index(requests[i], options)
                                                         : IndexChoice{requests[i].page_url, "", false};
      pages.back()->url = url;
    }
    page_of[i] = it->second;
  }
  std::vector<Result<ProjectPage>> parsed(pages.size(), fail(ErrorKind::runtime, "not looked up"));
  std::vector<TransferJob> jobs;
  std::vector<std::size_t> job_page;
  for (std::size_t j = 0; j < pages.size(); ++j) {
    auto creds = credentials.for_source(pages[j]->index.source_name, pages[j]->index.index_url);
    if (!creds) {
      parsed[j] = std::unexpected(creds.error());
      continue;
    }
    jobs.push_back(page_job(pages[j]->url, pages[j]->index, pages[j]->sink, *creds, credentials));
    job_page.push_back(j);
  }
  run_transfers(jobs, transport, options.limits, observer);
  for (std::size_t k = 0; k < jobs.size(); ++k) {
    Page& page = *pages[job_page[k]];
    if (CertificateFailures one; one.add(jobs[k])) {
      std::vector<std::string> line;
      one.prepend_to(line);
      parsed[job_page[k]] = fail(ErrorKind::runtime, line.front());
      continue;
    }
    if (!jobs[k].succeeded) {
      parsed[job_page[k]] = std::unexpected(*jobs[k].error);
      continue;
    }
    const std::string& effective = jobs[k].last_response.effective_url;
    parsed[job_page[k]] = parse_project_page(page.sink.body, jobs[k].last_response.content_type,
                                             effective.empty() ? page.url : effective);
  }
  std::vector<Result<ProjectPage>> out;
  out.reserve(requests.size());
  for (std::size_t i = 0; i < requests.size(); ++i) out.push_back(parsed[page_of[i]]);
  return out;
}

}  // namespace strata::fetch
