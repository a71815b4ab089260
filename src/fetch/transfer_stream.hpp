#pragma once
// run_transfers where a job that settles may add more jobs to the same run: a project page that
// answers starts its files' downloads at once, while the other pages are still on their way.

#include <cstddef>
#include <functional>
#include <vector>

#include "fetch/transfer.hpp"

namespace strata::fetch {

/// Called once per job when it settles (succeeded, or failed for good) with its index in `jobs`;
/// the jobs it pushes into `more` are appended to `jobs` (their indexes follow on) and run in the
/// same loop, under the same limits. Never called for jobs an interrupt stopped.
using OnSettled = std::function<void(std::size_t index, std::vector<TransferJob>& more)>;

/// run_transfers (fetch/transfer.hpp) with `settled` told of every job as it settles.
void run_transfers(std::vector<TransferJob>& jobs, HttpTransport& transport, const TransferLimits& limits,
                   ProgressObserver& observer, const OnSettled& settled);

}  // namespace strata::fetch
