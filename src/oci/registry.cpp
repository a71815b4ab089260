#include "oci/registry.hpp"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "fetch/curl_transport.hpp"
#include "fetch/hash.hpp"
#include "oci/registry_auth.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"
#include "util/url.hpp"

namespace strata::oci {

namespace fs = std::filesystem;
using fetch::ExchangeRequest;
using fetch::ExchangeResponse;
using fetch::ExchangeTransport;
using fetch::ResponseSink;
using fetch::TransferStatus;
using nlohmann::json;

std::string_view to_string(BlobAction action) {
  switch (action) {
    case BlobAction::uploaded:
      return "uploaded";
    case BlobAction::skipped:
      return "skipped";
    case BlobAction::mounted:
      return "mounted";
    case BlobAction::downloaded:
      return "downloaded";
    case BlobAction::cached:
      return "cached";
  }
  return "?";
}

TransportFactory curl_transport_factory(const fetch::CurlGlobal& global, const fetch::CurlOptions& options) {
  return [&global, options] { return std::make_unique<fetch::CurlExchangeTransport>(global, options); };
}

namespace {

constexpr std::uint64_t kManifestMax = 4ULL << 20;

std::string host_of(std::string_view registry) {
  if (registry.starts_with("[")) return std::string(registry.substr(0, registry.find(']') + 1));
  return std::string(registry.substr(0, registry.rfind(':')));
}

bool is_loopback(std::string_view registry) {
  std::string host = util::to_lower(host_of(registry));
  return host == "localhost" || host == "[::1]" || host.starts_with("127.");
}

std::string query_escape(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/')
      out.push_back(static_cast<char>(c));
    else
      out += fmt::format("%{:02X}", c);
  }
  return out;
}

std::string media_type_of(const ExchangeResponse& r) {
  std::string ct = r.content_type;
  if (auto semi = ct.find(';'); semi != std::string::npos) ct = ct.substr(0, semi);
  return std::string(util::trim(ct));
}

fs::path blob_path(const fs::path& layout, std::string_view digest) {
  return layout / "blobs" / "sha256" / std::string(digest.substr(7));
}

// The registry's own reason from a distribution-spec error body: "DENIED: requested access…".
std::string registry_reason(const ExchangeResponse& r) {
  auto doc = json::parse(r.error_body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("errors") || !doc["errors"].is_array())
    return {};
  std::vector<std::string> parts;
  for (const auto& e : doc["errors"]) {
    if (!e.is_object()) continue;
    std::string code = e.value("code", std::string());
    std::string message = e.value("message", std::string());
    parts.push_back(code.empty() ? message : fmt::format("{}: {}", code, message));
  }
  return util::redact_urls_in(util::join(parts, "; "));
}

class DiscardSink final : public ResponseSink {
 public:
  bool write(std::string_view) override { return true; }
};

class StringSink final : public ResponseSink {
 public:
  explicit StringSink(std::uint64_t max) : max_(max) {}
  bool write(std::string_view data) override {
    if (text.size() + data.size() > max_) return false;
    text.append(data);
    return true;
  }
  std::string refusal() const override { return fmt::format("larger than {} bytes", max_); }
  std::string text;

 private:
  std::uint64_t max_;
};

// Streams a blob into a temporary file, hashing it; nothing of it stays unless it verifies.
class BlobFileSink final : public ResponseSink {
 public:
  BlobFileSink(fs::path temp, std::uint64_t max) : temp_(std::move(temp)), max_(max) {}
  ~BlobFileSink() override { close(); }
  bool open() {
    close();
    bytes = 0;
    hash = fetch::Sha256();
    file_ = std::fopen(temp_.c_str(), "wb");
    return file_ != nullptr;
  }
  bool write(std::string_view data) override {
    if (bytes + data.size() > max_) {
      refusal_ = fmt::format("more bytes than the {} the manifest gives", max_);
      return false;
    }
    if (std::fwrite(data.data(), 1, data.size(), file_) != data.size()) {
      refusal_ = fmt::format("cannot write {}", temp_.string());
      return false;
    }
    hash.update(data);
    bytes += data.size();
    return true;
  }
  std::string refusal() const override { return refusal_; }
  bool close() {
    bool ok = true;
    if (file_) ok = std::fclose(file_) == 0;
    file_ = nullptr;
    return ok;
  }
  fetch::Sha256 hash;
  std::uint64_t bytes = 0;

 private:
  fs::path temp_;
  std::uint64_t max_;
  std::FILE* file_ = nullptr;
  std::string refusal_;
};

// Runs `work(i, transport)` for i in [0, n) on up to `parallelism` threads, each with its own
// transport; after the first failure no new item starts.
template <class T, class Work>
std::vector<std::optional<Result<T>>> run_parallel(std::size_t n, std::size_t parallelism,
                                                   const TransportFactory& transports, Work work) {
  std::vector<std::optional<Result<T>>> results(n);
  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  auto worker = [&] {
    auto transport = transports();
    for (std::size_t i = next++; i < n && !failed; i = next++) {
      results[i] = work(i, *transport);
      if (!*results[i]) failed = true;
    }
  };
  std::size_t threads = std::clamp<std::size_t>(parallelism, 1, std::max<std::size_t>(n, 1));
  if (threads == 1) {
    worker();
  } else {
    std::vector<std::jthread> pool;
    for (std::size_t t = 0; t < threads; ++t) pool.emplace_back(worker);
  }
  return results;
}

}  // namespace

struct RegistryClient::Session {
  std::string registry;
  std::string base_url;  // "https://host:port"
  bool verify_tls = true;
  bool allow_http = false;            // loopback or --insecure-registry: the registry itself may be http
  std::vector<std::string> insecure;  // --insecure-registry hosts
  std::optional<RegistryCredentials> credentials;
  std::string scheme;  // "" anonymous, "basic", "bearer"
  std::string realm, service;
  std::mutex mutex;
  std::map<std::string, std::string> tokens;  // scopes → token
  std::string credential_hint;
};

namespace {

using Session = RegistryClient::Session;

// One worker's conversation with one registry: auth, retries, redirects, counting.
class Caller {
 public:
  Caller(Session& session, ExchangeTransport& transport, const fetch::RetryPolicy& retry,
         std::atomic<std::size_t>& requests)
      : s_(session), t_(transport), retry_(retry), requests_(requests) {}

  std::string url(std::string_view path) const { return s_.base_url + std::string(path); }

  /// Sends `request` with the session's authentication for `scopes`; answers a 401 with the
  /// challenge it carries once, follows GET/HEAD redirects (never to plain http off loopback),
  /// retries transient failures when `retry` (the request is idempotent).
  Result<ExchangeResponse> send(ExchangeRequest request, const std::function<ResponseSink&()>& sink,
                                const std::vector<std::string>& scopes, bool retry = true) {
    bool reauthenticated = false;
    int attempt = 0;
    int hops = 0;
    std::string target = request.url;
    for (;;) {
      ExchangeRequest r = request;
      r.url = target;
      r.follow_redirects = false;
      r.verify_tls = s_.verify_tls;
      bool same_origin = util::url_origin(target) == util::url_origin(s_.base_url);
      if (same_origin) {
        if (s_.scheme == "bearer") {
          auto token = bearer_token(scopes);
          if (!token) return std::unexpected(token.error());
          r.headers.push_back("Authorization: Bearer " + *token);
        } else if (s_.scheme == "basic" && s_.credentials) {
          r.username = s_.credentials->username;
          r.password = s_.credentials->password;
        }
      }
      ExchangeResponse response = perform(r, sink());
      ++attempt;
      if (response.status == TransferStatus::ok && response.http_status == 401 && same_origin &&
          !reauthenticated) {
        reauthenticated = true;
        if (auto header = response.header("www-authenticate")) {
          if (auto challenge = parse_challenge(*header)) {
            if (auto adopted = adopt(*challenge, scopes); !adopted) return std::unexpected(adopted.error());
            if (s_.scheme == "bearer" || (s_.scheme == "basic" && s_.credentials)) continue;
          }
        }
      }
      bool is_redirect = response.status == TransferStatus::ok && response.http_status >= 300 &&
                         response.http_status < 400 && response.header("location");
      if (is_redirect && (r.method == "GET" || r.method == "HEAD")) {
        std::string next = util::resolve_url(target, *response.header("location"));
        if (++hops > 5)
          return fail(ErrorKind::runtime,
                      fmt::format("{} {}: more than 5 redirects", r.method, util::redact_url(request.url)));
        auto parts = util::UrlParts::parse(next);
        bool plain_ok = parts && parts->scheme == "http" && plain_http_allowed(parts->authority);
        if (!parts || (parts->scheme != "https" && !plain_ok))
          return fail(
              ErrorKind::runtime,
              fmt::format("{} {}: the registry redirected to {}, which is not https (plain http is allowed "
                          "only for loopback registries and --insecure-registry hosts)",
                          r.method, util::redact_url(request.url), util::redact_url(next)));
        target = next;
        continue;
      }
      if (retry && fetch::is_transient(response) && attempt <= retry_.retries) {
        std::this_thread::sleep_for(fetch::decide_retry(response, attempt, retry_).delay);
        continue;
      }
      last_attempts = attempt;
      return response;
    }
  }

  /// An error for an unexpected answer to `what`, with the registry's reason and, for 401, where
  /// credentials would come from.
  Error status_error(std::string_view what, const ExchangeRequest& request,
                     const ExchangeResponse& response) const {
    std::string message = fmt::format("{} ({} {}): {}", what, request.method, util::redact_url(request.url),
                                      fetch::describe_failure(response));
    if (last_attempts > 1) message += fmt::format(" after {} attempts", last_attempts);
    if (auto reason = registry_reason(response); !reason.empty())
      message += fmt::format(" — registry says: {}", reason);
    if (response.http_status >= 300 && response.http_status < 400)
      message += fmt::format(" — redirect to {} not followed for {}",
                             util::redact_url(response.header("location").value_or("?")), request.method);
    if (response.http_status == 401) {
      if (s_.credentials)
        message += fmt::format(" — the credentials from {} were not accepted", s_.credentials->origin);
      else
        message += fmt::format(" — no credentials for {} (looked in {})", s_.registry, s_.credential_hint);
    } else if (response.http_status == 403) {
      message += s_.credentials
                     ? fmt::format(" — the credentials from {} lack access", s_.credentials->origin)
                     : std::string(" — anonymous access denied");
    }
    return Error{ErrorKind::runtime, message};
  }

  ExchangeResponse perform(ExchangeRequest request, ResponseSink& sink) {
    request.id = ++next_id_;
    ++requests_;
    t_.start(request, sink);
    for (;;)
      for (auto& response : t_.wait(std::chrono::milliseconds(200)))
        if (response.id == request.id) return response;
  }

  int last_attempts = 0;

 private:
  // Plain http goes only to a loopback host or one named by --insecure-registry, whoever sent us there.
  bool plain_http_allowed(std::string_view authority) const {
    return is_loopback(authority) ||
           std::any_of(s_.insecure.begin(), s_.insecure.end(),
                       [&](const std::string& h) { return h == authority || h == host_of(authority); });
  }

  Result<void> adopt(const Challenge& challenge, const std::vector<std::string>& scopes) {
    std::lock_guard lock(s_.mutex);
    if (challenge.scheme == "basic") {
      s_.scheme = "basic";
      return {};
    }
    if (challenge.scheme != "bearer")
      return fail(ErrorKind::runtime, fmt::format("registry {}: unsupported authentication scheme \"{}\"",
                                                  s_.registry, challenge.scheme));
    auto realm = challenge.params.find("realm");
    if (realm == challenge.params.end() || realm->second.empty())
      return fail(ErrorKind::runtime,
                  fmt::format("registry {}: a Bearer challenge without a realm", s_.registry));
    s_.scheme = "bearer";
    s_.realm = realm->second;
    if (auto service = challenge.params.find("service"); service != challenge.params.end())
      s_.service = service->second;
    s_.tokens.erase(util::join(scopes, " "));  // a token that was refused
    return {};
  }

  Result<std::string> bearer_token(const std::vector<std::string>& scopes) {
    std::string key = util::join(scopes, " ");
    std::unique_lock lock(s_.mutex);
    if (auto it = s_.tokens.find(key); it != s_.tokens.end()) return it->second;
    auto realm_parts = util::UrlParts::parse(s_.realm);
    if (!realm_parts || (realm_parts->scheme != "https" &&
                         !(realm_parts->scheme == "http" && plain_http_allowed(realm_parts->authority))))
      return fail(
          ErrorKind::runtime,
          fmt::format("registry {}: the token realm {} is not https (credentials are never sent over plain "
                      "http except to loopback and --insecure-registry hosts)",
                      s_.registry, util::redact_url(s_.realm)));
    std::string url = s_.realm + (s_.realm.find('?') == std::string::npos ? "?" : "&");
    std::vector<std::string> query;
    if (!s_.service.empty()) query.push_back("service=" + query_escape(s_.service));
    for (const auto& scope : scopes) query.push_back("scope=" + query_escape(scope));
    url += util::join(query, "&");
    ExchangeRequest request;
    request.url = url;
    request.verify_tls = s_.verify_tls;
    request.follow_redirects = false;
    if (s_.credentials) {
      request.username = s_.credentials->username;
      request.password = s_.credentials->password;
    }
    StringSink sink(1 << 20);
    ExchangeResponse response;
    for (int attempt = 1;; ++attempt) {
      sink.text.clear();
      response = perform(request, sink);
      if (!fetch::is_transient(response) || attempt > retry_.retries) break;
      std::this_thread::sleep_for(fetch::decide_retry(response, attempt, retry_).delay);
    }
    std::string shown = util::redact_url(s_.realm);
    if (response.status != TransferStatus::ok || response.http_status != 200) {
      std::string message = fmt::format("token service {} for registry {} (scope {}): {}", shown, s_.registry,
                                        key, fetch::describe_failure(response));
      if (response.http_status == 401 || response.http_status == 403)
        message +=
            s_.credentials
                ? fmt::format(" — the credentials from {} were not accepted", s_.credentials->origin)
                : fmt::format(" — no credentials for {} (looked in {})", s_.registry, s_.credential_hint);
      return fail(ErrorKind::runtime, message);
    }
    auto doc = json::parse(sink.text, nullptr, false);
    std::string token;
    if (doc.is_object()) {
      if (doc.contains("token") && doc["token"].is_string()) token = doc["token"].get<std::string>();
      if (token.empty() && doc.contains("access_token") && doc["access_token"].is_string())
        token = doc["access_token"].get<std::string>();
    }
    if (token.empty())
      return fail(ErrorKind::runtime, fmt::format("token service {}: the answer holds no token", shown));
    s_.tokens[key] = token;
    return token;
  }

  Session& s_;
  ExchangeTransport& t_;
  const fetch::RetryPolicy& retry_;
  std::atomic<std::size_t>& requests_;
  std::uint64_t next_id_ = 0;
};

std::function<ResponseSink&()> discard() {
  auto sink = std::make_shared<DiscardSink>();
  return [sink]() -> ResponseSink& { return *sink; };
}

std::string with_query(const std::string& url, std::string_view param) {
  return url + (url.find('?') == std::string::npos ? "?" : "&") + std::string(param);
}

Result<Descriptor> read_descriptor(const json& j, std::string_view where) {
  if (!j.is_object() || !j.contains("digest") || !j["digest"].is_string() || !j.contains("size") ||
      !j["size"].is_number_unsigned())
    return fail(ErrorKind::runtime, fmt::format("{}: a descriptor without digest and size", where));
  Descriptor d;
  d.media_type = j.value("mediaType", std::string());
  d.digest = j["digest"].get<std::string>();
  d.size = j["size"].get<std::uint64_t>();
  if (!is_sha256_digest(d.digest))
    return fail(ErrorKind::runtime, fmt::format("{}: digest \"{}\" is not sha256:<hex>", where, d.digest));
  return d;
}

bool is_known_blob_type(std::string_view type) {
  return type == kOciConfig || type == kDockerConfig || is_layer_type(type);
}

// The config and layers of an image manifest, in manifest order; unknown media types refused.
Result<std::vector<Descriptor>> manifest_blobs(std::string_view text, std::string_view where) {
  auto doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object())
    return fail(ErrorKind::runtime, fmt::format("{}: the manifest is not a JSON object", where));
  if (!doc.contains("config") || !doc.contains("layers") || !doc["layers"].is_array())
    return fail(ErrorKind::runtime, fmt::format("{}: the manifest has no config and layers", where));
  std::vector<Descriptor> blobs;
  auto config = read_descriptor(doc["config"], where);
  if (!config) return std::unexpected(config.error());
  blobs.push_back(*config);
  for (const auto& layer : doc["layers"]) {
    auto d = read_descriptor(layer, where);
    if (!d) return std::unexpected(d.error());
    blobs.push_back(*d);
  }
  for (const auto& b : blobs)
    if (!is_known_blob_type(b.media_type))
      return fail(ErrorKind::runtime, fmt::format("{}: blob {} has the unsupported media type \"{}\"", where,
                                                  b.digest, b.media_type));
  return blobs;
}

}  // namespace

RegistryClient::RegistryClient(TransportFactory transports, RegistryOptions options, fetch::EnvLookup env,
                               RegistryObserver* observer)
    : transports_(std::move(transports)),
      options_(std::move(options)),
      env_(std::move(env)),
      observer_(observer) {}

RegistryClient::~RegistryClient() = default;

void RegistryClient::note_blob_source(const std::string& digest, const std::string& registry,
                                      const std::string& repository) {
  std::lock_guard lock(mutex_);
  blob_sources_[digest].insert(registry + "/" + repository);
}

Result<void> RegistryClient::load_blob_sources() {
  if (sources_loaded_ || !options_.blob_sources_file) return {};
  sources_loaded_ = true;
  std::error_code ec;
  if (!fs::exists(*options_.blob_sources_file, ec)) return {};
  auto text = util::read_file(*options_.blob_sources_file);
  if (!text) return std::unexpected(text.error());
  auto doc = json::parse(*text, nullptr, false);
  if (!doc.is_object()) return {};  // a damaged memo only costs mounts
  std::lock_guard lock(mutex_);
  for (const auto& [digest, repos] : doc.items())
    if (repos.is_array())
      for (const auto& repo : repos)
        if (repo.is_string()) blob_sources_[digest].insert(repo.get<std::string>());
  return {};
}

Result<void> RegistryClient::save_blob_sources() {
  if (!options_.blob_sources_file) return {};
  json doc = json::object();
  {
    std::lock_guard lock(mutex_);
    for (const auto& [digest, repos] : blob_sources_) doc[digest] = repos;
  }
  std::error_code ec;
  fs::create_directories(options_.blob_sources_file->parent_path(), ec);
  return util::write_file_atomic(*options_.blob_sources_file, doc.dump(1), util::Durability::process_crash);
}

Result<RegistryClient::Session*> RegistryClient::session(const std::string& registry,
                                                         const std::string& repository) {
  std::lock_guard lock(mutex_);
  if (auto it = sessions_.find(registry); it != sessions_.end()) return it->second.get();
  auto s = std::make_unique<Session>();
  s->registry = registry;
  bool insecure = std::any_of(options_.insecure_registries.begin(), options_.insecure_registries.end(),
                              [&](const std::string& h) { return h == registry || h == host_of(registry); });
  s->verify_tls = !insecure;
  s->allow_http = insecure || is_loopback(registry);
  s->insecure = options_.insecure_registries;
  s->credential_hint = credential_sources_hint(env_);
  auto creds = find_registry_credentials(registry, repository, options_.creds_file, env_);
  if (!creds) return std::unexpected(creds.error());
  s->credentials = *creds;
  // The ping (GET /v2/) picks the scheme and shows how the registry authenticates.
  auto transport = transports_();
  std::atomic<std::size_t> ignored{0};
  ExchangeResponse response;
  for (std::string scheme : {"https", "http"}) {
    if (scheme == "http" && !s->allow_http) break;
    s->base_url = scheme + "://" + registry;
    Caller caller(*s, *transport, options_.retry, ignored);
    ExchangeRequest ping;
    ping.url = caller.url("/v2/");
    ping.verify_tls = s->verify_tls;
    ping.follow_redirects = false;
    StringSink sink(1 << 16);
    for (int attempt = 1;; ++attempt) {
      response = caller.perform(ping, sink);
      if (!fetch::is_transient(response) || response.status == TransferStatus::connection_error ||
          attempt > options_.retry.retries)
        break;
      std::this_thread::sleep_for(fetch::decide_retry(response, attempt, options_.retry).delay);
    }
    // Only a connection that could not be made falls back to http, never a TLS verification failure.
    if (response.status != TransferStatus::connection_error) break;
  }
  if (response.status != TransferStatus::ok)
    return fail(
        ErrorKind::runtime,
        fmt::format(
            "registry {}: {}{}", registry, fetch::describe_failure(response),
            s->allow_http ? "" : " (plain http is tried only for loopback and --insecure-registry hosts)"));
  if (response.http_status == 401) {
    auto header = response.header("www-authenticate");
    auto challenge = header ? parse_challenge(*header) : std::nullopt;
    if (!challenge)
      return fail(ErrorKind::runtime,
                  fmt::format("registry {}: HTTP 401 without a WWW-Authenticate challenge", registry));
    if (challenge->scheme == "basic") {
      s->scheme = "basic";
      if (!s->credentials)
        return fail(
            ErrorKind::runtime,
            fmt::format(
                "registry {} requires credentials (HTTP 401, Basic) and none were found (looked in {})",
                registry, s->credential_hint));
    } else if (challenge->scheme == "bearer") {
      s->scheme = "bearer";
      s->realm = challenge->params["realm"];
      s->service = challenge->params["service"];
      if (s->realm.empty())
        return fail(ErrorKind::runtime,
                    fmt::format("registry {}: a Bearer challenge without a realm", registry));
    } else {
      return fail(ErrorKind::runtime, fmt::format("registry {}: unsupported authentication scheme \"{}\"",
                                                  registry, challenge->scheme));
    }
  } else if (response.http_status < 200 || response.http_status >= 300) {
    std::string message = fmt::format("registry {} (GET {}/v2/): {}", registry, util::redact_url(s->base_url),
                                      fetch::describe_failure(response));
    if (response.http_status >= 300 && response.http_status < 400)
      message += fmt::format(" — redirect to {} not followed for the API root",
                             util::redact_url(response.header("location").value_or("?")));
    if (response.http_status == 403) message += " — access denied";
    return fail(ErrorKind::runtime, message);
  }
  auto* raw = s.get();
  sessions_.emplace(registry, std::move(s));
  return raw;
}

Result<TransferReport> RegistryClient::pull(const Reference& ref, const Platform& platform,
                                            const fs::path& layout) {
  if (auto loaded = load_blob_sources(); !loaded) return std::unexpected(loaded.error());
  auto session_or = session(ref.registry, ref.repository);
  if (!session_or) return std::unexpected(session_or.error());
  Session& s = **session_or;
  std::atomic<std::size_t> requests{0};
  TransferReport report;
  report.reference = ref.str();
  const std::vector<std::string> scopes{fmt::format("repository:{}:pull", ref.repository)};
  auto transport = transports_();
  Caller caller(s, *transport, options_.retry, requests);

  auto get_manifest = [&](const std::string& reference,
                          const std::string& expected_digest) -> Result<std::pair<std::string, std::string>> {
    ExchangeRequest request;
    request.url = caller.url(fmt::format("/v2/{}/manifests/{}", ref.repository, reference));
    request.headers.push_back(
        fmt::format("Accept: {}, {}, {}, {}", kOciIndex, kOciManifest, kDockerManifestList, kDockerManifest));
    auto sink = std::make_shared<StringSink>(kManifestMax);
    auto response = caller.send(
        request,
        [sink]() -> ResponseSink& {
          sink->text.clear();
          return *sink;
        },
        scopes);
    if (!response) return std::unexpected(response.error());
    if (response->status != TransferStatus::ok || response->http_status != 200)
      return std::unexpected(
          caller.status_error(fmt::format("manifest of {}", ref.str()), request, *response));
    std::string digest = sha256_digest(sink->text);
    if (!expected_digest.empty() && digest != expected_digest)
      return fail(ErrorKind::runtime,
                  fmt::format("manifest {} of {}: the registry sent content with digest {}", expected_digest,
                              ref.str(), digest));
    std::string type = media_type_of(*response);
    auto doc = json::parse(sink->text, nullptr, false);
    if (doc.is_object() && doc.contains("mediaType") && doc["mediaType"].is_string())
      type = doc["mediaType"].get<std::string>();
    if (doc.is_object() && doc.value("schemaVersion", 0) == 1)
      return fail(
          ErrorKind::runtime,
          fmt::format(
              "{}: a Docker v2 schema 1 manifest, which is not supported (push it again with a current "
              "tool)",
              ref.str()));
    return std::pair{sink->text, type};
  };

  auto top = get_manifest(ref.manifest_reference(), ref.digest);
  if (!top) return std::unexpected(top.error());
  auto [text, type] = *top;
  if (is_index_type(type)) {
    auto doc = json::parse(text, nullptr, false);
    std::optional<Descriptor> chosen;
    std::vector<std::string> offered;
    if (doc.is_object() && doc.contains("manifests") && doc["manifests"].is_array())
      for (const auto& m : doc["manifests"]) {
        if (!m.is_object() || !m.contains("platform") || !m["platform"].is_object()) continue;
        const auto& p = m["platform"];
        Platform offer{p.value("os", std::string()), p.value("architecture", std::string()),
                       p.value("variant", std::string())};
        if (offer.os == "unknown") continue;  // attestation manifests
        offered.push_back(offer.str());
        if (!chosen && offer.os == platform.os && offer.architecture == platform.architecture &&
            (platform.variant.empty() || offer.variant == platform.variant)) {
          auto d = read_descriptor(m, ref.str());
          if (!d) return std::unexpected(d.error());
          chosen = *d;
        }
      }
    if (!chosen)
      return fail(ErrorKind::usage,
                  fmt::format("{}: the image index has no manifest for {} (it has: {})", ref.str(),
                              platform.str(), offered.empty() ? "none" : util::join(offered, ", ")));
    auto child = get_manifest(chosen->digest, chosen->digest);
    if (!child) return std::unexpected(child.error());
    std::tie(text, type) = *child;
  }
  if (!is_manifest_type(type))
    return fail(ErrorKind::runtime,
                fmt::format("{}: unsupported manifest media type \"{}\" (expected {} or {})", ref.str(), type,
                            kOciManifest, kDockerManifest));
  report.manifest.media_type = type;
  report.manifest.digest = sha256_digest(text);
  report.manifest.size = text.size();
  auto blobs = manifest_blobs(text, ref.str());
  if (!blobs) return std::unexpected(blobs.error());

  std::error_code ec;
  fs::create_directories(layout / "blobs" / "sha256", ec);
  if (ec)
    return fail(ErrorKind::runtime,
                fmt::format("cannot create {}: {}", (layout / "blobs" / "sha256").string(), ec.message()));

  auto results = run_parallel<BlobReport>(
      blobs->size(), options_.parallelism, transports_,
      [&](std::size_t i, ExchangeTransport& t) -> Result<BlobReport> {
        const Descriptor& blob = (*blobs)[i];
        BlobReport r{blob, BlobAction::cached, {}, 0};
        fs::path target = blob_path(layout, blob.digest);
        std::error_code exists_ec;
        if (fs::is_regular_file(target, exists_ec) && fs::file_size(target, exists_ec) == blob.size) return r;
        {
          std::lock_guard lock(mutex_);
          if (observer_) observer_->blob_started(blob);
        }
        auto temp_dir = util::TempDir::create(layout / "blobs" / "sha256", ".tmp-pull-");
        if (!temp_dir) return std::unexpected(temp_dir.error());
        fs::path temp = temp_dir->path() / "blob";
        Caller worker(s, t, options_.retry, requests);
        ExchangeRequest request;
        request.url = worker.url(fmt::format("/v2/{}/blobs/{}", ref.repository, blob.digest));
        request.expected_size = blob.size;
        auto sink = std::make_shared<BlobFileSink>(temp, blob.size);
        bool opened = true;
        auto response = worker.send(
            request,
            [&, sink]() -> ResponseSink& {
              opened = sink->open() && opened;
              return *sink;
            },
            scopes);
        bool closed = sink->close();
        auto cleanup = [&] { util::remove_tree(temp_dir->path()); };
        if (!response) {
          cleanup();
          return std::unexpected(response.error());
        }
        if (!opened || !closed) {
          cleanup();
          return fail(ErrorKind::runtime, fmt::format("cannot write {}", temp.string()));
        }
        if (response->status == TransferStatus::aborted && response->http_status == 200 &&
            !sink->refusal().empty()) {
          cleanup();
          return fail(ErrorKind::runtime,
                      fmt::format("blob {} of {}: the registry sent {}; nothing of it was kept", blob.digest,
                                  ref.str(), sink->refusal()));
        }
        if (response->status != TransferStatus::ok || response->http_status != 200) {
          cleanup();
          return std::unexpected(
              worker.status_error(fmt::format("blob {} of {}", blob.digest, ref.str()), request, *response));
        }
        std::string got = "sha256:" + sink->hash.hex_digest();
        if (sink->bytes != blob.size || got != blob.digest) {
          cleanup();
          return fail(
              ErrorKind::runtime,
              fmt::format(
                  "blob {} of {}: the registry sent {} bytes with digest {} (expected {} bytes); nothing "
                  "of it was kept",
                  blob.digest, ref.str(), sink->bytes, got, blob.size));
        }
        fs::rename(temp, target, ec);
        cleanup();
        if (ec)
          return fail(ErrorKind::runtime,
                      fmt::format("cannot rename into {}: {}", target.string(), ec.message()));
        r.action = BlobAction::downloaded;
        r.bytes = blob.size;
        std::lock_guard lock(mutex_);
        if (observer_) observer_->blob_done(r);
        return r;
      });
  for (auto& result : results) {
    if (!result) continue;
    if (!*result) return std::unexpected(result->error());
    report.bytes_downloaded += (*result)->bytes;
    report.blobs.push_back(**result);
  }
  if (report.blobs.size() != blobs->size())
    return fail(ErrorKind::runtime, fmt::format("{}: not every blob was pulled", ref.str()));

  // The manifest and index.json last: a layout never names a manifest whose blobs are missing.
  auto out = Layout::create(layout);
  if (!out) return std::unexpected(out.error());
  if (auto w = out->write_blob(report.manifest.media_type, text); !w) return std::unexpected(w.error());
  auto entries = out->index();
  if (!entries) return std::unexpected(entries.error());
  const std::string key(kRefNameAnnotation);
  Descriptor entry = report.manifest;
  std::string name = ref.tag.empty() ? std::string() : ref.str();
  if (!name.empty()) entry.annotations[key] = name;
  std::vector<Descriptor> kept;
  for (const auto& m : *entries) {
    bool same_name = !name.empty() && m.annotations.contains(key) && m.annotations.at(key) == name;
    bool same_untagged = name.empty() && m.digest == entry.digest && m.annotations.empty();
    if (!same_name && !same_untagged) kept.push_back(m);
  }
  kept.push_back(entry);
  if (auto w = out->write_index(kept); !w) return std::unexpected(w.error());
  for (const auto& b : report.blobs) note_blob_source(b.blob.digest, ref.registry, ref.repository);
  if (auto saved = save_blob_sources(); !saved) return std::unexpected(saved.error());
  report.requests = requests;
  return report;
}

Result<TransferReport> RegistryClient::push(const fs::path& layout, const Reference& ref,
                                            std::optional<std::string> manifest_digest,
                                            const std::vector<std::string>& extra_tags) {
  if (auto loaded = load_blob_sources(); !loaded) return std::unexpected(loaded.error());
  // The image: index.json's only manifest, or the one asked for.
  auto image = Layout::open(layout);
  if (!image) return std::unexpected(image.error());
  auto entries = image->index();
  if (!entries) return std::unexpected(entries.error());
  std::string index_name = (layout / "index.json").string();
  std::optional<Descriptor> manifest;
  for (const auto& d : *entries) {
    if (manifest_digest ? d.digest == *manifest_digest : true) {
      if (manifest && !manifest_digest)
        return fail(ErrorKind::usage,
                    fmt::format("{}: several manifests; say which one to push", index_name));
      manifest = d;
    }
  }
  if (!manifest)
    return fail(ErrorKind::usage,
                fmt::format("{}: no manifest {}", index_name, manifest_digest.value_or("")));
  manifest->annotations.clear();
  manifest->platform.reset();
  auto text = image->read_blob(manifest->digest);  // verified against its digest
  if (!text) return std::unexpected(text.error());
  {
    auto doc = json::parse(*text, nullptr, false);
    if (doc.is_object() && doc.contains("mediaType") && doc["mediaType"].is_string())
      manifest->media_type = doc["mediaType"].get<std::string>();
  }
  if (manifest->media_type.empty()) manifest->media_type = std::string(kOciManifest);
  if (!is_manifest_type(manifest->media_type))
    return fail(ErrorKind::usage,
                fmt::format("{}: manifest {} has media type \"{}\"; only image manifests are pushed",
                            index_name, manifest->digest, manifest->media_type));
  auto blobs = manifest_blobs(*text, blob_path(layout, manifest->digest).string());
  if (!blobs) return std::unexpected(blobs.error());
  for (const auto& b : *blobs) {
    std::error_code ec;
    auto size = fs::file_size(blob_path(layout, b.digest), ec);
    if (ec || size != b.size)
      return fail(ErrorKind::usage, fmt::format("{}: blob {} is missing or not {} bytes",
                                                blob_path(layout, b.digest).string(), b.digest, b.size));
  }

  auto session_or = session(ref.registry, ref.repository);
  if (!session_or) return std::unexpected(session_or.error());
  Session& s = **session_or;
  std::atomic<std::size_t> requests{0};
  TransferReport report;
  report.reference = ref.str();
  report.manifest = *manifest;
  const std::string push_scope = fmt::format("repository:{}:pull,push", ref.repository);

  auto results = run_parallel<BlobReport>(
      blobs->size(), options_.parallelism, transports_,
      [&](std::size_t i, ExchangeTransport& t) -> Result<BlobReport> {
        const Descriptor& blob = (*blobs)[i];
        fs::path file = blob_path(layout, blob.digest);
        Caller caller(s, t, options_.retry, requests);
        BlobReport r{blob, BlobAction::skipped, {}, 0};
        std::string what = fmt::format("blob {} to {}", blob.digest, ref.str());
        ExchangeRequest head;
        head.method = "HEAD";
        head.url = caller.url(fmt::format("/v2/{}/blobs/{}", ref.repository, blob.digest));
        auto found = caller.send(head, discard(), {push_scope});
        if (!found) return std::unexpected(found.error());
        if (found->status == TransferStatus::ok && found->http_status == 200) return r;
        if (found->status != TransferStatus::ok || found->http_status != 404)
          return std::unexpected(caller.status_error(what, head, *found));
        {
          std::lock_guard lock(mutex_);
          if (observer_) observer_->blob_started(blob);
        }
        std::string location;
        // A cross-repository mount from a repository of this registry known to hold the blob.
        std::vector<std::string> sources;
        {
          std::lock_guard lock(mutex_);
          for (const auto& source : blob_sources_[blob.digest])
            if (source.starts_with(ref.registry + "/") && source != ref.registry + "/" + ref.repository)
              sources.push_back(source.substr(ref.registry.size() + 1));
        }
        if (!sources.empty()) {
          ExchangeRequest mount;
          mount.method = "POST";
          mount.url = caller.url(fmt::format("/v2/{}/blobs/uploads/?mount={}&from={}", ref.repository,
                                             blob.digest, query_escape(sources.front())));
          auto mounted = caller.send(mount, discard(),
                                     {push_scope, fmt::format("repository:{}:pull", sources.front())}, false);
          if (!mounted) return std::unexpected(mounted.error());
          if (mounted->status == TransferStatus::ok && mounted->http_status == 201) {
            r.action = BlobAction::mounted;
            r.mounted_from = ref.registry + "/" + sources.front();
            std::lock_guard lock(mutex_);
            if (observer_) observer_->blob_done(r);
            return r;
          }
          if (mounted->status == TransferStatus::ok && mounted->http_status == 202 &&
              mounted->header("location"))
            location = util::resolve_url(mount.url, *mounted->header("location"));
        }
        // Upload: POST for a session, then one PUT with the body, or PATCH chunks and an empty PUT.
        // A transient failure anywhere starts the upload again with a new session.
        std::optional<Error> last_error;
        int attempts = 0;
        for (int attempt = 1; attempt <= options_.retry.retries + 1; ++attempt) {
          attempts = attempt;
          if (attempt > 1) {
            fetch::HttpResponse transient;
            transient.http_status = 503;
            std::this_thread::sleep_for(fetch::decide_retry(transient, attempt - 1, options_.retry).delay);
          }
          bool transient_failure = false;
          auto step = [&](ExchangeRequest request, int expected) -> Result<ExchangeResponse> {
            auto response = caller.send(request, discard(), {push_scope}, false);
            if (!response) return response;
            if (response->status == TransferStatus::ok && response->http_status == expected) return response;
            transient_failure = fetch::is_transient(*response);
            return std::unexpected(caller.status_error(what, request, *response));
          };
          if (location.empty()) {
            ExchangeRequest start;
            start.method = "POST";
            start.url = caller.url(fmt::format("/v2/{}/blobs/uploads/", ref.repository));
            auto started = step(start, 202);
            if (started && !started->header("location"))
              started = fail(ErrorKind::runtime, fmt::format("{}: the upload answer has no Location", what));
            if (!started) {
              last_error = started.error();
              if (transient_failure) continue;
              break;
            }
            location = util::resolve_url(start.url, *started->header("location"));
          }
          Result<ExchangeResponse> done = fail(ErrorKind::runtime, what);
          if (blob.size <= options_.monolithic_max) {
            ExchangeRequest put;
            put.method = "PUT";
            put.url = with_query(location, "digest=" + query_escape(blob.digest));
            put.headers = {"Content-Type: application/octet-stream"};
            put.body = fetch::RequestBody{{}, file, 0, blob.size};
            put.expected_size = blob.size;
            done = step(put, 201);
          } else {
            std::uint64_t offset = 0;
            done = ExchangeResponse{};
            while (done && offset < blob.size) {
              std::uint64_t n = std::min(options_.chunk_size, blob.size - offset);
              ExchangeRequest patch;
              patch.method = "PATCH";
              patch.url = location;
              patch.headers = {"Content-Type: application/octet-stream",
                               fmt::format("Content-Range: {}-{}", offset, offset + n - 1)};
              patch.body = fetch::RequestBody{{}, file, offset, n};
              patch.expected_size = n;
              done = step(patch, 202);
              if (done && done->header("location"))
                location = util::resolve_url(location, *done->header("location"));
              offset += n;
            }
            if (done) {
              ExchangeRequest put;
              put.method = "PUT";
              put.url = with_query(location, "digest=" + query_escape(blob.digest));
              put.headers = {"Content-Type: application/octet-stream"};
              done = step(put, 201);
            }
          }
          location.clear();
          if (done) {
            r.action = BlobAction::uploaded;
            r.bytes = blob.size;
            std::lock_guard lock(mutex_);
            if (observer_) observer_->blob_done(r);
            return r;
          }
          last_error = done.error();
          if (!transient_failure) break;
        }
        if (attempts > 1) last_error->message += fmt::format(" after {} attempts", attempts);
        return std::unexpected(*last_error);
      });
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (!results[i]) continue;
    if (!*results[i]) {
      Error e = results[i]->error();
      e.message += " — the manifest was not pushed";
      return std::unexpected(e);
    }
    report.bytes_uploaded += (*results[i])->bytes;
    report.blobs.push_back(**results[i]);
  }
  if (report.blobs.size() != blobs->size())
    return fail(ErrorKind::runtime,
                fmt::format("{}: not every blob was pushed; the manifest was not pushed", ref.str()));
  for (const auto& b : report.blobs) note_blob_source(b.blob.digest, ref.registry, ref.repository);

  // The manifest last, once per tag (or by digest); a tag that already names it is left alone.
  auto transport = transports_();
  Caller caller(s, *transport, options_.retry, requests);
  std::vector<std::string> names;
  if (!ref.tag.empty()) names.push_back(ref.tag);
  for (const auto& tag : extra_tags) names.push_back(tag);
  if (names.empty()) names.push_back(manifest->digest);
  report.manifest_action = BlobAction::skipped;
  for (const auto& name : names) {
    std::string url = caller.url(fmt::format("/v2/{}/manifests/{}", ref.repository, name));
    ExchangeRequest head;
    head.method = "HEAD";
    head.url = url;
    head.headers = {"Accept: " + manifest->media_type};
    auto current = caller.send(head, discard(), {push_scope});
    if (!current) return std::unexpected(current.error());
    if (current->status == TransferStatus::ok && current->http_status == 200 &&
        current->header("docker-content-digest") == manifest->digest)
      continue;
    ExchangeRequest put;
    put.method = "PUT";
    put.url = url;
    put.headers = {"Content-Type: " + manifest->media_type};
    put.body = fetch::RequestBody{*text, {}, 0, 0};
    auto response = caller.send(put, discard(), {push_scope});
    if (!response) return std::unexpected(response.error());
    if (response->status != TransferStatus::ok || response->http_status != 201)
      return std::unexpected(
          caller.status_error(fmt::format("manifest {} to {}", manifest->digest, ref.str()), put, *response));
    if (auto digest = response->header("docker-content-digest"); digest && *digest != manifest->digest)
      return fail(ErrorKind::runtime, fmt::format("manifest to {}: the registry stored it as {}, not {}",
                                                  ref.str(), *digest, manifest->digest));
    report.manifest_action = BlobAction::uploaded;
  }
  if (auto saved = save_blob_sources(); !saved) return std::unexpected(saved.error());
  report.requests = requests;
  return report;
}

}  // namespace strata::oci
