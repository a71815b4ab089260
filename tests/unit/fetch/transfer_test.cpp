#include "fetch/transfer.hpp"

#include <gtest/gtest.h>

#include "fake_transport.hpp"

namespace strata::fetch {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::FakeTransport;
using testing::Reply;

struct StringSink final : ResponseSink {
  std::string body;
  bool write(std::string_view data) override {
    body.append(data);
    return true;
  }
};

struct RecordingObserver final : ProgressObserver {
  std::vector<milliseconds> delays;
  std::vector<std::string> reasons;
  void on_retry(std::string_view, int, milliseconds delay, std::string_view reason) override {
    delays.push_back(delay);
    reasons.emplace_back(reason);
  }
};

TransferJob make_job(const std::string& url, StringSink& sink) {
  TransferJob job;
  job.request.url = url;
  job.display_url = url;
  job.begin = [&sink]() -> Result<ResponseSink*> {
    sink.body.clear();
    return &sink;
  };
  job.finish = [](const HttpResponse&) { return Verdict{}; };
  return job;
}

TEST(RetryPolicy, TransientFailures) {
  HttpResponse r;
  r.http_status = 503;
  EXPECT_TRUE(is_transient(r));
  r.http_status = 429;
  EXPECT_TRUE(is_transient(r));
  r.http_status = 404;
  EXPECT_FALSE(is_transient(r));
  r.http_status = 401;
  EXPECT_FALSE(is_transient(r));
  r.status = TransferStatus::connection_error;
  EXPECT_TRUE(is_transient(r));
  r.status = TransferStatus::timed_out;
  EXPECT_TRUE(is_transient(r));
  r.status = TransferStatus::failed;
  EXPECT_FALSE(is_transient(r));
}

TEST(RetryPolicy, ExponentialBackoffCappedAndRetryAfterHonoured) {
  RetryPolicy policy;
  policy.retries = 5;
  policy.base_delay = milliseconds(500);
  policy.max_delay = milliseconds(3000);
  HttpResponse r;
  r.http_status = 500;
  EXPECT_EQ(decide_retry(r, 1, policy).delay, milliseconds(500));
  EXPECT_EQ(decide_retry(r, 2, policy).delay, milliseconds(1000));
  EXPECT_EQ(decide_retry(r, 3, policy).delay, milliseconds(2000));
  EXPECT_EQ(decide_retry(r, 4, policy).delay, milliseconds(3000));
  EXPECT_TRUE(decide_retry(r, 5, policy).retry);
  EXPECT_FALSE(decide_retry(r, 6, policy).retry);
  r.http_status = 429;
  r.retry_after = seconds(7);
  EXPECT_EQ(decide_retry(r, 1, policy).delay, milliseconds(7000));
  r.retry_after = seconds(3600);
  EXPECT_EQ(decide_retry(r, 1, policy).delay, policy.max_retry_after);
}

TEST(RunTransfers, FailsTwiceThenSucceeds) {
  FakeTransport transport;
  transport.script("http://h/a", {{503}, {500}, {200, TransferStatus::ok, "payload"}});
  StringSink sink;
  std::vector<TransferJob> jobs;
  jobs.push_back(make_job("http://h/a", sink));
  RecordingObserver observer;
  TransferLimits limits;
  run_transfers(jobs, transport, limits, observer);
  EXPECT_TRUE(jobs[0].succeeded);
  EXPECT_EQ(jobs[0].attempts, 3);
  EXPECT_EQ(sink.body, "payload");
  ASSERT_EQ(observer.delays.size(), 2u);
  EXPECT_EQ(observer.delays[0], milliseconds(500));
  EXPECT_EQ(observer.delays[1], milliseconds(1000));
  EXPECT_EQ(observer.reasons[0], "HTTP 503 Service Unavailable");
  // The second attempt started no earlier than the backoff delay after the first.
  ASSERT_EQ(transport.started_at.size(), 3u);
  EXPECT_GE(transport.started_at[1] - transport.started_at[0], milliseconds(500));
  EXPECT_GE(transport.started_at[2] - transport.started_at[1], milliseconds(1000));
}

TEST(RunTransfers, GivesUpAfterTheLastRetryNamingUrlAndStatus) {
  FakeTransport transport;
  transport.script("http://h/a", {{502}});
  StringSink sink;
  std::vector<TransferJob> jobs;
  jobs.push_back(make_job("http://h/a", sink));
  RecordingObserver observer;
  TransferLimits limits;
  limits.retry.retries = 2;
  run_transfers(jobs, transport, limits, observer);
  ASSERT_FALSE(jobs[0].succeeded);
  ASSERT_TRUE(jobs[0].error);
  EXPECT_EQ(jobs[0].attempts, 3);
  EXPECT_EQ(jobs[0].error->message, "http://h/a: HTTP 502 Bad Gateway (after 3 attempts)");
}

TEST(RunTransfers, ClientErrorsAreNotRetriedAndGetExplained) {
  FakeTransport transport;
  transport.script("http://h/a", {{401}});
  StringSink sink;
  std::vector<TransferJob> jobs;
  jobs.push_back(make_job("http://h/a", sink));
  jobs[0].explain = [](const HttpResponse& r) {
    return r.http_status == 401 ? std::string("set X") : std::string();
  };
  RecordingObserver observer;
  run_transfers(jobs, transport, TransferLimits{}, observer);
  EXPECT_EQ(jobs[0].attempts, 1);
  EXPECT_EQ(jobs[0].error->message, "http://h/a: HTTP 401 Unauthorized; set X");
}

TEST(RunTransfers, VerdictRetryIsBoundedToo) {
  FakeTransport transport;
  transport.script("http://h/a", {{200, TransferStatus::ok, "short"}});
  StringSink sink;
  std::vector<TransferJob> jobs;
  jobs.push_back(make_job("http://h/a", sink));
  jobs[0].finish = [](const HttpResponse&) { return Verdict{Verdict::Kind::retry, "truncated"}; };
  RecordingObserver observer;
  TransferLimits limits;
  limits.retry.retries = 1;
  run_transfers(jobs, transport, limits, observer);
  EXPECT_EQ(jobs[0].attempts, 2);
  EXPECT_EQ(jobs[0].error->message, "http://h/a: truncated (after 2 attempts)");
}

TEST(RunTransfers, ConcurrencyIsBounded) {
  FakeTransport transport;
  std::vector<StringSink> sinks(10);
  std::vector<TransferJob> jobs;
  for (int i = 0; i < 10; ++i) {
    std::string url = "http://h/" + std::to_string(i);
    transport.script(url, {{200, TransferStatus::ok, url}});
    jobs.push_back(make_job(url, sinks[static_cast<std::size_t>(i)]));
  }
  RecordingObserver observer;
  TransferLimits limits;
  limits.parallelism = 3;
  run_transfers(jobs, transport, limits, observer);
  EXPECT_EQ(transport.max_in_flight, 3u);
  for (std::size_t i = 0; i < 10; ++i) {
    EXPECT_TRUE(jobs[i].succeeded);
    EXPECT_EQ(sinks[i].body, "http://h/" + std::to_string(i));
  }
}

}  // namespace
}  // namespace strata::fetch
