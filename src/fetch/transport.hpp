#pragma once
// The HTTP I/O seam: start transfers, wait for some to finish. The libcurl implementation lives
// in curl_transport.hpp; unit tests use a recording fake. Retrying and verifying happen above.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace strata::fetch {

/// One GET request. The URL carries no userinfo: credentials travel separately and are never
/// printed.
struct HttpRequest {
  std::uint64_t id = 0;  ///< chosen by the caller, echoed in the response
  std::string url;
  std::vector<std::string> headers;  ///< e.g. "Accept: …"
  std::optional<std::string> username;
  std::optional<std::string> password;
  bool accept_compressed = false;  ///< ask for gzip/deflate (index pages, not wheels)
  /// The body's size when the caller knows it (lock or index): the transfer's deadline scales
  /// with it (see CurlOptions).
  std::optional<std::uint64_t> expected_size;
};

/// Receives the body of a successful (2xx) response as it arrives.
class ResponseSink {
 public:
  virtual ~ResponseSink() = default;
  /// Appends body bytes; returning false aborts the transfer (e.g. a disk write failed).
  virtual bool write(std::string_view data) = 0;
  /// Why write() returned false, naming the file or the bound ("" when it did not say).
  virtual std::string refusal() const { return {}; }
};

/// How a transfer ended, coarse enough to decide on retries.
enum class TransferStatus {
  ok,                ///< a complete response arrived (any HTTP status)
  connection_error,  ///< DNS, connect, TLS handshake, reset: nothing or part received
  timed_out,         ///< stalled below the low-speed limit, or past its deadline
  partial,           ///< the connection closed before the announced body length
  aborted,           ///< the sink refused data
  failed,            ///< anything else (bad URL, TLS verification failure, …)
};

/// The result of one transfer.
struct HttpResponse {
  std::uint64_t id = 0;
  TransferStatus status = TransferStatus::ok;
  int http_status = 0;  ///< 0 when no response was received
  std::string error;    ///< transport's description when status != ok (holds no secret)
  std::string content_type;
  std::string effective_url;                        ///< after redirects
  std::optional<std::chrono::seconds> retry_after;  ///< from a Retry-After header
  std::uint64_t body_bytes = 0;                     ///< bytes handed to the sink
  /// Not empty: the server's certificate was not trusted (`error` says why); what to do about it.
  std::string certificate_hint;
};

/// Runs HTTP transfers concurrently.
class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  /// Starts a transfer; `sink` must outlive it. Returns at once.
  virtual void start(const HttpRequest& request, ResponseSink& sink) = 0;
  /// Waits up to `timeout` for running transfers and returns those that finished (possibly
  /// none). With nothing running it simply waits `timeout`.
  virtual std::vector<HttpResponse> wait(std::chrono::milliseconds timeout) = 0;
  /// The transport's monotonic clock; retries are scheduled on it (a fake advances it in wait()).
  virtual std::chrono::steady_clock::time_point now() const = 0;
};

/// When and how often to retry.
struct RetryPolicy {
  int retries = 4;  ///< extra attempts after the first
  std::chrono::milliseconds base_delay{500};
  std::chrono::milliseconds max_delay{8000};
  std::chrono::milliseconds max_retry_after{60000};  ///< cap on a server's Retry-After
};

/// Whether to try a finished transfer again, and after how long.
struct RetryDecision {
  bool retry = false;
  std::chrono::milliseconds delay{0};
};

/// True for failures worth retrying: connection errors, timeouts, truncated bodies, HTTP 5xx,
/// 408 and 429.
bool is_transient(const HttpResponse& response);
/// Exponential backoff: base * 2^(attempt-1) capped at max_delay, or the server's Retry-After
/// when larger (capped at max_retry_after). `attempt` counts from 1 (the attempt that failed).
RetryDecision decide_retry(const HttpResponse& response, int attempt, const RetryPolicy& policy);
/// "HTTP 503 Service Unavailable", "connection error: …" — the failure in words.
std::string describe_failure(const HttpResponse& response);

}  // namespace strata::fetch
