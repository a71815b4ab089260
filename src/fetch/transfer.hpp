#pragma once
// Running many transfers through an HttpTransport: a bounded number at once, transient failures
// retried with exponential backoff (Retry-After honoured), each job verified by its own hook.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "fetch/progress.hpp"
#include "fetch/transport.hpp"
#include "util/error.hpp"

namespace strata::fetch {

/// What a job's check of a complete 2xx response concluded.
struct Verdict {
  enum class Kind { done, retry, fail };
  Kind kind = Kind::done;
  std::string reason;  ///< for retry and fail: what was wrong (names the file)
};

/// One resource to fetch and what to do with it.
struct TransferJob {
  HttpRequest request;      ///< the id is assigned by run_transfers
  std::string display_url;  ///< the URL as messages show it (credentials redacted)
  /// Called before every attempt: prepares (or empties) the sink that receives the body.
  std::function<Result<ResponseSink*>()> begin;
  /// Called on a complete 2xx response: verifies what the sink received.
  std::function<Verdict(const HttpResponse&)> finish;
  /// Optional: a sentence appended to the error for a final non-2xx answer (e.g. which
  /// variables would supply credentials after a 401).
  std::function<std::string(const HttpResponse&)> explain;

  // Filled by run_transfers.
  bool succeeded = false;
  std::optional<Error> error;
  int attempts = 0;
  HttpResponse last_response;
};

/// How many transfers at once, and how to retry.
struct TransferLimits {
  std::size_t parallelism = 8;
  RetryPolicy retry;
};

/// Runs every job until it succeeded or failed for good; never throws for a failed job.
void run_transfers(std::vector<TransferJob>& jobs, HttpTransport& transport, const TransferLimits& limits,
                   ProgressObserver& observer);

}  // namespace strata::fetch
