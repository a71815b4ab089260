#include "fetch/transport.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace strata::fetch {
namespace {

std::string_view reason_phrase(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 408:
      return "Request Timeout";
    case 410:
      return "Gone";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "";
  }
}

}  // namespace

bool is_transient(const HttpResponse& response) {
  switch (response.status) {
    case TransferStatus::connection_error:
    case TransferStatus::timed_out:
    case TransferStatus::partial:
      return true;
    case TransferStatus::aborted:
    case TransferStatus::failed:
      return false;
    case TransferStatus::ok:
      break;
  }
  int s = response.http_status;
  return s >= 500 || s == 408 || s == 429;
}

RetryDecision decide_retry(const HttpResponse& response, int attempt, const RetryPolicy& policy) {
  if (!is_transient(response) || attempt > policy.retries) return {};
  using std::chrono::milliseconds;
  milliseconds delay = policy.base_delay;
  for (int i = 1; i < attempt && delay < policy.max_delay; ++i) delay *= 2;
  delay = std::min(delay, policy.max_delay);
  if (response.retry_after) {
    auto server = std::min<milliseconds>(*response.retry_after, policy.max_retry_after);
    delay = std::max(delay, server);
  }
  return {true, delay};
}

std::string describe_failure(const HttpResponse& response) {
  switch (response.status) {
    case TransferStatus::ok: {
      auto phrase = reason_phrase(response.http_status);
      return phrase.empty() ? fmt::format("HTTP {}", response.http_status)
                            : fmt::format("HTTP {} {}", response.http_status, phrase);
    }
    case TransferStatus::connection_error:
      return fmt::format("connection error: {}", response.error);
    case TransferStatus::timed_out:
      return fmt::format("timed out: {}", response.error);
    case TransferStatus::partial:
      return fmt::format("truncated response after {} bytes: {}", response.body_bytes, response.error);
    case TransferStatus::aborted:
      return fmt::format("aborted: {}", response.error);
    case TransferStatus::failed:
      return response.error;
  }
  return response.error;
}

}  // namespace strata::fetch
