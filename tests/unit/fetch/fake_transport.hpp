#pragma once
// A recording fake HttpTransport for unit tests: scripted replies per URL, a fake clock that
// advances only when wait() is asked to wait with nothing finishing.

#include <chrono>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "fetch/transport.hpp"

namespace strata::fetch::testing {

struct Reply {
  Reply(int status_code) : http_status(status_code) {}  // NOLINT: implicit for brevity in scripts
  Reply(int status_code, TransferStatus transfer, std::string body_text = {}, std::string type = {})
      : http_status(status_code),
        status(transfer),
        body(std::move(body_text)),
        content_type(std::move(type)) {}
  int http_status = 200;
  TransferStatus status = TransferStatus::ok;
  std::string body;
  std::string content_type;
  std::optional<std::chrono::seconds> retry_after;
  std::string error;
};

class FakeTransport final : public HttpTransport {
 public:
  /// Replies for a URL in order; the last one repeats.
  void script(const std::string& url, std::vector<Reply> replies) {
    scripts_[url] = std::deque<Reply>(replies.begin(), replies.end());
  }

  void start(const HttpRequest& request, ResponseSink& sink) override {
    requests.push_back(request);
    started_at.push_back(now_);
    pending_.emplace_back(request, &sink);
    max_in_flight = std::max(max_in_flight, pending_.size());
  }

  std::vector<HttpResponse> wait(std::chrono::milliseconds timeout) override {
    if (pending_.empty()) {
      now_ += timeout;
      slept += timeout;
      return {};
    }
    std::vector<HttpResponse> done;
    // One transfer finishes per wait, so concurrency limits are observable.
    auto [request, sink] = pending_.front();
    pending_.pop_front();
    HttpResponse response;
    response.id = request.id;
    response.effective_url = request.url;
    auto it = scripts_.find(request.url);
    if (it == scripts_.end() || it->second.empty()) {
      response.http_status = 404;
      done.push_back(response);
      return done;
    }
    Reply reply = it->second.front();
    if (it->second.size() > 1) it->second.pop_front();
    response.status = reply.status;
    response.http_status = reply.http_status;
    response.content_type = reply.content_type;
    response.retry_after = reply.retry_after;
    response.error = reply.error;
    if (reply.http_status >= 200 && reply.http_status < 300 &&
        (reply.status == TransferStatus::ok || reply.status == TransferStatus::partial)) {
      if (!sink->write(reply.body)) {
        response.status = TransferStatus::aborted;
        response.error = sink->refusal();
      }
      response.body_bytes = reply.body.size();
    }
    done.push_back(response);
    return done;
  }

  std::chrono::steady_clock::time_point now() const override { return now_; }

  std::vector<HttpRequest> requests;
  std::vector<std::chrono::steady_clock::time_point> started_at;
  std::chrono::milliseconds slept{0};
  std::size_t max_in_flight = 0;

  std::size_t count(const std::string& url) const {
    std::size_t n = 0;
    for (const auto& r : requests) n += r.url == url;
    return n;
  }

 private:
  std::map<std::string, std::deque<Reply>> scripts_;
  std::deque<std::pair<HttpRequest, ResponseSink*>> pending_;
  std::chrono::steady_clock::time_point now_{};
};

}  // namespace strata::fetch::testing
