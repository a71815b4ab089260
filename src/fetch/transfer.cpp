#include "fetch/transfer.hpp"

#include "fetch/transfer_stream.hpp"

#include <algorithm>
#include <deque>

#include <fmt/format.h>

#include "util/interrupt.hpp"

namespace strata::fetch {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

struct Delayed {
  Clock::time_point when;
  std::size_t job;
};

}  // namespace

void run_transfers(std::vector<TransferJob>& jobs, HttpTransport& transport, const TransferLimits& limits,
                   ProgressObserver& observer) {
  run_transfers(jobs, transport, limits, observer, OnSettled());
}

void run_transfers(std::vector<TransferJob>& jobs, HttpTransport& transport, const TransferLimits& limits,
                   ProgressObserver& observer, const OnSettled& settled) {
  std::deque<std::size_t> ready;
  for (std::size_t i = 0; i < jobs.size(); ++i) ready.push_back(i);
  std::vector<Delayed> delayed;
  std::size_t in_flight = 0;
  std::size_t remaining = jobs.size();
  const std::size_t parallelism = std::max<std::size_t>(1, limits.parallelism);

  std::vector<std::size_t> settled_now;  // told to `settled` once no reference into `jobs` is held
  auto fail_job = [&](TransferJob& job, std::string message) {
    job.error = Error{ErrorKind::runtime, std::move(message)};
    --remaining;
    settled_now.push_back(static_cast<std::size_t>(&job - jobs.data()));
  };
  auto tell_settled = [&] {
    if (!settled) {
      settled_now.clear();
      return;
    }
    for (std::size_t k = 0; k < settled_now.size(); ++k) {  // the callback may settle nothing more
      std::vector<TransferJob> more;
      settled(settled_now[k], more);
      for (auto& job : more) {
        ready.push_back(jobs.size());
        jobs.push_back(std::move(job));
        ++remaining;
      }
    }
    settled_now.clear();
  };
  auto attempts_note = [](const TransferJob& job) {
    return job.attempts > 1 ? fmt::format(" (after {} attempts)", job.attempts) : std::string();
  };
  auto schedule_retry = [&](std::size_t index, milliseconds delay, std::string_view reason) {
    TransferJob& job = jobs[index];
    observer.on_retry(job.display_url, job.attempts, delay, reason);
    delayed.push_back({transport.now() + delay, index});
  };

  while (remaining > 0) {
    // Ctrl-C: every transfer not finished fails (the transport drops the ones in flight).
    if (util::interrupted()) {
      for (auto& job : jobs)
        if (!job.succeeded && !job.error) job.error = Error{ErrorKind::runtime, util::interrupt_message()};
      return;
    }
    Clock::time_point now = transport.now();
    for (auto it = delayed.begin(); it != delayed.end();) {
      if (it->when <= now) {
        ready.push_back(it->job);
        it = delayed.erase(it);
      } else {
        ++it;
      }
    }
    while (in_flight < parallelism && !ready.empty()) {
      std::size_t index = ready.front();
      ready.pop_front();
      TransferJob& job = jobs[index];
      ++job.attempts;
      auto sink = job.begin();
      if (!sink) {
        fail_job(job, sink.error().message);
        continue;
      }
      job.request.id = index;
      transport.start(job.request, **sink);
      ++in_flight;
    }
    const std::size_t queued = ready.size();
    tell_settled();
    if (remaining == 0) break;
    if (ready.size() > queued && in_flight < parallelism) continue;  // start what a failure added

    milliseconds timeout{250};  // short: an interrupt is noticed within it
    if (!delayed.empty()) {
      auto next = std::min_element(delayed.begin(), delayed.end(), [](const Delayed& a, const Delayed& b) {
                    return a.when < b.when;
                  })->when;
      auto until = std::chrono::ceil<milliseconds>(next - now);
      timeout = std::clamp(until, milliseconds{0}, timeout);
    }
    for (HttpResponse& response : transport.wait(timeout)) {
      if (response.id >= jobs.size()) continue;
      --in_flight;
      std::size_t index = static_cast<std::size_t>(response.id);
      TransferJob& job = jobs[index];
      job.last_response = response;
      bool success =
          response.status == TransferStatus::ok && response.http_status >= 200 && response.http_status < 300;
      if (!success) {
        RetryDecision decision = decide_retry(response, job.attempts, limits.retry);
        std::string what = describe_failure(response);
        if (decision.retry) {
          schedule_retry(index, decision.delay, what);
          continue;
        }
        std::string extra = job.explain ? job.explain(response) : std::string();
        fail_job(job, fmt::format("{}: {}{}{}{}", job.display_url, what, attempts_note(job),
                                  extra.empty() ? "" : "; ", extra));
        continue;
      }
      Verdict verdict = job.finish(response);
      switch (verdict.kind) {
        case Verdict::Kind::done:
          job.succeeded = true;
          --remaining;
          settled_now.push_back(index);
          break;
        case Verdict::Kind::retry: {
          HttpResponse truncated = response;
          truncated.status = TransferStatus::partial;
          RetryDecision decision = decide_retry(truncated, job.attempts, limits.retry);
          if (decision.retry) {
            schedule_retry(index, decision.delay, verdict.reason);
          } else {
            fail_job(job, fmt::format("{}: {}{}", job.display_url, verdict.reason, attempts_note(job)));
          }
          break;
        }
        case Verdict::Kind::fail:
          fail_job(job, verdict.reason);
          break;
      }
    }
    tell_settled();
  }
}

}  // namespace strata::fetch
