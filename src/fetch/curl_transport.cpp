#include "fetch/curl_transport.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>

#include <curl/curl.h>

#include <thread>
#include <type_traits>

#include <fmt/format.h>

#include "fetch/exchange.hpp"
#include "util/strings.hpp"

namespace strata::fetch {

CaFile ca_file_from_env() {
  for (const char* name : kCaFileVariables)
    if (const char* value = std::getenv(name); value && *value) return {value, name};
  return {};
}

std::filesystem::path system_ca_file(std::span<const char* const> candidates) {
  for (const char* candidate : candidates) {
    std::error_code ec;
    if (std::filesystem::is_regular_file(candidate, ec)) return candidate;
  }
  return {};
}

std::string ca_file_hint() {
  CaFile in_use = ca_file_from_env();
  std::string now = in_use.path.empty()
                        ? std::string("the system's CA store is in use")
                        : fmt::format("{} from {} is in use", in_use.path.string(), in_use.variable);
  return fmt::format(
      "set STRATA_CA_FILE (or SSL_CERT_FILE, REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE, read in that order) to the "
      "PEM file of the CA that signed the server's certificate ({})",
      now);
}

Result<CurlOptions> curl_options_from_env() {
  CurlOptions options;
  CaFile ca = ca_file_from_env();
  if (!ca.path.empty()) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(ca.path, ec))
      return fail(ErrorKind::usage, fmt::format("{}: {} is not a file (a PEM bundle of CA certificates)",
                                                ca.variable, ca.path.string()));
  }
  options.ca_file = ca.path;
  if (const char* value = std::getenv("STRATA_HTTP_TIMEOUT"); value && *value) {
    auto seconds = util::parse_uint(value);
    if (!seconds || *seconds < 1 || *seconds > 86400)
      return fail(
          ErrorKind::usage,
          fmt::format("STRATA_HTTP_TIMEOUT: \"{}\" is not a number of seconds from 1 to 86400", value));
    options.stall_timeout = std::chrono::seconds(static_cast<long long>(*seconds));
  }
  return options;
}

CurlGlobal::CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
CurlGlobal::~CurlGlobal() { curl_global_cleanup(); }

struct CurlTransport::Transfer {
  std::uint64_t id = 0;
  CURL* easy = nullptr;
  ResponseSink* sink = nullptr;
  curl_slist* headers = nullptr;
  char error[CURL_ERROR_SIZE] = {};
  std::optional<std::chrono::seconds> retry_after;
  std::uint64_t body_bytes = 0;
  bool sink_refused = false;
  std::optional<std::uint64_t> expected_size;
  std::chrono::steady_clock::time_point started;
  std::chrono::seconds stall_timeout{0};
  std::uint64_t min_rate = 1;
  std::optional<std::chrono::seconds> deadline_hit;  ///< the deadline that ended the transfer
  std::vector<std::pair<std::string, std::string>> response_headers;
  std::string error_body;
  std::optional<RequestBody> body;
  std::uint64_t body_position = 0;  ///< bytes of the body handed to curl
  std::FILE* body_file = nullptr;
  std::string body_error;  ///< why the body could not be read (names the file)

  ~Transfer() {
    if (easy) curl_easy_cleanup(easy);
    if (headers) curl_slist_free_all(headers);
    if (body_file) std::fclose(body_file);
  }
};

namespace {

long response_code(CURL* easy) {
  long code = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
  return code;
}

TransferStatus classify(CURLcode code) {
  switch (code) {
    case CURLE_OK:
      return TransferStatus::ok;
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_HTTP3:
    case CURLE_QUIC_CONNECT_ERROR:
      return TransferStatus::connection_error;
    case CURLE_OPERATION_TIMEDOUT:
      return TransferStatus::timed_out;
    case CURLE_PARTIAL_FILE:
      return TransferStatus::partial;
    case CURLE_WRITE_ERROR:
    case CURLE_ABORTED_BY_CALLBACK:
      return TransferStatus::aborted;
    default:
      return TransferStatus::failed;
  }
}

}  // namespace

extern "C" {
static size_t strata_curl_write(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<CurlTransport::Transfer*>(user);
  size_t n = size * count;
  long code = response_code(t->easy);
  if (code < 200 || code >= 300) {  // an error page: not part of the artifact, kept for its reason
    auto room =
        ExchangeResponse::kErrorBodyMax - std::min(ExchangeResponse::kErrorBodyMax, t->error_body.size());
    t->error_body.append(data, std::min(room, n));
    return n;
  }
  if (!t->sink->write(std::string_view(data, n))) {
    t->sink_refused = true;
    return 0;
  }
  t->body_bytes += n;
  return n;
}

static size_t strata_curl_read(char* buffer, size_t size, size_t count, void* user) {
  auto* t = static_cast<CurlTransport::Transfer*>(user);
  const RequestBody& body = *t->body;
  std::uint64_t left = body.size() - std::min(body.size(), t->body_position);
  size_t n = static_cast<size_t>(std::min<std::uint64_t>(left, size * count));
  if (n == 0) return 0;
  if (body.file.empty()) {
    std::copy_n(body.data.data() + t->body_position, n, buffer);
  } else {
    if (!t->body_file) {
      t->body_file = std::fopen(body.file.c_str(), "rb");
      if (!t->body_file ||
          std::fseek(t->body_file, static_cast<long>(body.offset + t->body_position), SEEK_SET) != 0) {
        t->body_error = fmt::format("cannot read {}", body.file.string());
        return CURL_READFUNC_ABORT;
      }
    }
    if (std::fread(buffer, 1, n, t->body_file) != n) {
      t->body_error = fmt::format("{} ended before its {} bytes were sent", body.file.string(), body.length);
      return CURL_READFUNC_ABORT;
    }
  }
  t->body_position += n;
  return n;
}

static int strata_curl_seek(void* user, curl_off_t offset, int origin) {
  auto* t = static_cast<CurlTransport::Transfer*>(user);
  if (origin != SEEK_SET || offset < 0 || static_cast<std::uint64_t>(offset) > t->body->size())
    return CURL_SEEKFUNC_CANTSEEK;
  t->body_position = static_cast<std::uint64_t>(offset);
  if (t->body_file &&
      std::fseek(t->body_file, static_cast<long>(t->body->offset + t->body_position), SEEK_SET) != 0)
    return CURL_SEEKFUNC_FAIL;
  return CURL_SEEKFUNC_OK;
}

static int strata_curl_progress(void* user, curl_off_t dltotal, curl_off_t /*dlnow*/, curl_off_t ultotal,
                                curl_off_t /*ulnow*/) {
  auto* t = static_cast<CurlTransport::Transfer*>(user);
  std::uint64_t size = CurlOptions::kUnknownSize;
  if (t->expected_size)
    size = *t->expected_size;
  else if (dltotal > 0 || ultotal > 0)
    size = static_cast<std::uint64_t>(std::max(dltotal, ultotal));
  auto allowed = t->stall_timeout + std::chrono::seconds(static_cast<long long>(size / t->min_rate));
  if (std::chrono::steady_clock::now() - t->started <= allowed) return 0;
  t->deadline_hit = allowed;
  return 1;  // aborts the transfer
}

static size_t strata_curl_header(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<CurlTransport::Transfer*>(user);
  size_t n = size * count;
  std::string_view line(data, n);
  if (line.starts_with("HTTP/")) {
    t->retry_after.reset();  // a new response (after a redirect or 100-continue)
    t->response_headers.clear();
    return n;
  }
  auto colon = line.find(':');
  if (colon == std::string_view::npos) return n;
  std::string name(util::trim(line.substr(0, colon)));
  std::string value(util::trim(line.substr(colon + 1)));
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  t->response_headers.emplace_back(name, value);
  if (name != "retry-after") return n;
  if (auto secs = util::parse_uint(value)) {
    t->retry_after = std::chrono::seconds(static_cast<long long>(std::min<unsigned long long>(*secs, 86400)));
  } else {
    time_t when = curl_getdate(value.c_str(), nullptr);
    if (when > 0) {
      auto delta = when - std::time(nullptr);
      t->retry_after = std::chrono::seconds(delta > 0 ? delta : 0);
    }
  }
  return n;
}
}

namespace {

// Configures a transfer's easy handle for `request` and adds it to `multi`.
std::unique_ptr<CurlTransport::Transfer> start_transfer(void* multi, const CurlOptions& options,
                                                        const ExchangeRequest& request, ResponseSink& sink) {
  auto t = std::make_unique<CurlTransport::Transfer>();
  t->id = request.id;
  t->sink = &sink;
  t->expected_size = request.expected_size;
  t->started = std::chrono::steady_clock::now();
  t->stall_timeout = options.stall_timeout;
  t->min_rate = std::max<std::uint64_t>(1, options.min_rate);
  t->easy = curl_easy_init();
  CURL* e = t->easy;
  curl_easy_setopt(e, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, request.follow_redirects ? 1L : 0L);
  curl_easy_setopt(e, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(e, CURLOPT_UNRESTRICTED_AUTH, 0L);  // credentials never follow a redirect off-host
  curl_easy_setopt(e, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS));
  // Waiting for a connection to multiplex on only pays where HTTP/2 can be negotiated (TLS, by
  // ALPN): on plain HTTP every connection is HTTP/1.1 and the wait queues the transfers to one host
  // behind each other instead of opening parallel connections.
  if (request.url.starts_with("https://") || request.url.starts_with("HTTPS://"))
    curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, request.verify_tls ? 1L : 0L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, request.verify_tls ? 2L : 0L);
  static const std::string system_ca = system_ca_file().string();
  if (!options.ca_file.empty())
    curl_easy_setopt(e, CURLOPT_CAINFO, options.ca_file.c_str());
  else if (!system_ca.empty())
    curl_easy_setopt(e, CURLOPT_CAINFO, system_ca.c_str());
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, static_cast<long>(options.connect_timeout.count()));
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, options.low_speed_limit);
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, static_cast<long>(options.stall_timeout.count()));
  curl_easy_setopt(e, CURLOPT_USERAGENT, options.user_agent.c_str());
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->error);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, strata_curl_write);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, t.get());
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, strata_curl_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, t.get());
  curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, strata_curl_progress);
  curl_easy_setopt(e, CURLOPT_XFERINFODATA, t.get());
  curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 256L * 1024L);
  if (request.accept_compressed) curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
  if (request.username) {
    curl_easy_setopt(e, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
    curl_easy_setopt(e, CURLOPT_USERNAME, request.username->c_str());
    curl_easy_setopt(e, CURLOPT_PASSWORD, request.password.value_or("").c_str());
  }
  if (request.method == "HEAD") {
    curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
  } else if (request.method == "POST" && !request.body) {
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(0));
  } else if (request.body || request.method == "PUT" || request.method == "PATCH") {
    t->body = request.body.value_or(RequestBody{});
    curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(t->body->size()));
    curl_easy_setopt(e, CURLOPT_READFUNCTION, strata_curl_read);
    curl_easy_setopt(e, CURLOPT_READDATA, t.get());
    curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, strata_curl_seek);
    curl_easy_setopt(e, CURLOPT_SEEKDATA, t.get());
    t->headers = curl_slist_append(t->headers, "Expect:");  // no 100-continue round trip
  }
  if (request.method != "GET" && request.method != "HEAD" && request.method != "PUT")
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  for (const auto& header : request.headers) t->headers = curl_slist_append(t->headers, header.c_str());
  if (t->headers) curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
  curl_multi_add_handle(static_cast<CURLM*>(multi), e);
  return t;
}

// The finished transfers of `multi`, removed from it and from `transfers`.
template <class Response>
std::vector<Response> collect_finished(void* multi,
                                       std::map<void*, std::unique_ptr<CurlTransport::Transfer>>& transfers) {
  std::vector<Response> done;
  int queued = 0;
  while (CURLMsg* msg = curl_multi_info_read(static_cast<CURLM*>(multi), &queued)) {
    if (msg->msg != CURLMSG_DONE) continue;
    auto it = transfers.find(msg->easy_handle);
    if (it == transfers.end()) continue;
    CurlTransport::Transfer& t = *it->second;
    CURLcode code = msg->data.result;
    Response r;
    r.id = t.id;
    r.status = t.sink_refused ? TransferStatus::aborted : classify(code);
    r.http_status = static_cast<int>(response_code(t.easy));
    if (code != CURLE_OK) r.error = t.error[0] != '\0' ? std::string(t.error) : curl_easy_strerror(code);
    if (code == CURLE_PEER_FAILED_VERIFICATION || code == CURLE_SSL_ISSUER_ERROR ||
        code == CURLE_SSL_CACERT_BADFILE)
      r.certificate_hint = ca_file_hint();
    if (t.sink_refused && !t.sink->refusal().empty()) r.error = t.sink->refusal();
    if (!t.body_error.empty()) {
      r.status = TransferStatus::failed;
      r.error = t.body_error;
    }
    if (t.deadline_hit) {
      r.status = TransferStatus::timed_out;
      r.error = fmt::format(
          "not finished after {} s (STRATA_HTTP_TIMEOUT, {} s, plus one second per {} KiB of the size)",
          t.deadline_hit->count(), t.stall_timeout.count(), t.min_rate / 1024);
    }
    if (char* ct = nullptr; curl_easy_getinfo(t.easy, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct)
      r.content_type = ct;
    if (char* url = nullptr; curl_easy_getinfo(t.easy, CURLINFO_EFFECTIVE_URL, &url) == CURLE_OK && url)
      r.effective_url = url;
    r.retry_after = t.retry_after;
    r.body_bytes = t.body_bytes;
    if constexpr (std::is_same_v<Response, ExchangeResponse>) {
      r.headers = std::move(t.response_headers);
      r.error_body = std::move(t.error_body);
    }
    curl_multi_remove_handle(static_cast<CURLM*>(multi), t.easy);
    transfers.erase(it);
    done.push_back(std::move(r));
  }
  return done;
}

template <class Response>
std::vector<Response> wait_finished(void* multi,
                                    std::map<void*, std::unique_ptr<CurlTransport::Transfer>>& transfers,
                                    std::chrono::milliseconds timeout) {
  if (transfers.empty()) {
    std::this_thread::sleep_for(timeout);
    return {};
  }
  int running = 0;
  curl_multi_perform(static_cast<CURLM*>(multi), &running);
  auto done = collect_finished<Response>(multi, transfers);
  if (!done.empty()) return done;
  int fds = 0;
  curl_multi_poll(static_cast<CURLM*>(multi), nullptr, 0, static_cast<int>(timeout.count()), &fds);
  curl_multi_perform(static_cast<CURLM*>(multi), &running);
  return collect_finished<Response>(multi, transfers);
}

void* new_multi(const CurlOptions& options) {
  CURLM* multi = curl_multi_init();
  curl_multi_setopt(multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
  if (options.max_host_connections > 0)
    curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, options.max_host_connections);
  return multi;
}

void delete_multi(void* multi, std::map<void*, std::unique_ptr<CurlTransport::Transfer>>& transfers) {
  for (auto& [easy, transfer] : transfers) curl_multi_remove_handle(static_cast<CURLM*>(multi), easy);
  transfers.clear();
  curl_multi_cleanup(static_cast<CURLM*>(multi));
}

}  // namespace

CurlTransport::CurlTransport(const CurlGlobal& /*global*/, CurlOptions options)
    : options_(std::move(options)), multi_(new_multi(options_)) {}

CurlTransport::~CurlTransport() { delete_multi(multi_, transfers_); }

void CurlTransport::start(const HttpRequest& request, ResponseSink& sink) {
  ExchangeRequest get;
  static_cast<HttpRequest&>(get) = request;
  get.follow_redirects = true;  // downloads follow redirects (index CDNs)
  auto t = start_transfer(multi_, options_, get, sink);
  void* easy = t->easy;
  transfers_.emplace(easy, std::move(t));
}

std::vector<HttpResponse> CurlTransport::collect() {
  return collect_finished<HttpResponse>(multi_, transfers_);
}

std::vector<HttpResponse> CurlTransport::wait(std::chrono::milliseconds timeout) {
  return wait_finished<HttpResponse>(multi_, transfers_, timeout);
}

CurlExchangeTransport::CurlExchangeTransport(const CurlGlobal& /*global*/, CurlOptions options)
    : options_(std::move(options)), multi_(new_multi(options_)) {}

CurlExchangeTransport::~CurlExchangeTransport() { delete_multi(multi_, transfers_); }

void CurlExchangeTransport::start(const ExchangeRequest& request, ResponseSink& sink) {
  auto t = start_transfer(multi_, options_, request, sink);
  void* easy = t->easy;
  transfers_.emplace(easy, std::move(t));
}

std::vector<ExchangeResponse> CurlExchangeTransport::wait(std::chrono::milliseconds timeout) {
  return wait_finished<ExchangeResponse>(multi_, transfers_, timeout);
}

}  // namespace strata::fetch
