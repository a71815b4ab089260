#pragma once
// HTTP exchanges beyond downloads, for the registry client: any method, a request body (bytes or
// a range of a file), no automatic redirects, the response's headers and the start of an error
// body. The same seam shape as transport.hpp (start, wait, now); the libcurl implementation shares
// curl_transport.cpp, unit tests use fakes.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fetch/curl_transport.hpp"
#include "fetch/transport.hpp"

namespace strata::fetch {

/// A request body: bytes in memory, or a byte range of a file streamed from disk.
struct RequestBody {
  std::string data;            ///< used when `file` is empty
  std::filesystem::path file;  ///< streamed from `offset`, `length` bytes
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  std::uint64_t size() const { return file.empty() ? data.size() : length; }
};

/// A request with any method. The URL carries no userinfo, as for HttpRequest.
struct ExchangeRequest : HttpRequest {
  std::string method = "GET";       ///< GET, HEAD, PUT, POST, PATCH, DELETE
  std::optional<RequestBody> body;  ///< for PUT, POST, PATCH
  bool follow_redirects = false;    ///< false: a 3xx is the response (its Location in `headers`)
  bool verify_tls = true;           ///< false only for a registry the user named insecure
};

/// A response with its headers.
struct ExchangeResponse : HttpResponse {
  /// The final response's headers in order, names lower-cased, values trimmed.
  std::vector<std::pair<std::string, std::string>> headers;
  /// The start of a non-2xx response's body (at most kErrorBodyMax bytes): a server's reason.
  std::string error_body;
  static constexpr std::size_t kErrorBodyMax = 8192;

  /// The first header called `name` (lower-case), if any.
  std::optional<std::string> header(std::string_view name) const {
    for (const auto& [key, value] : headers)
      if (key == name) return value;
    return std::nullopt;
  }
};

/// Runs exchanges concurrently (the 2xx body goes to the sink, as for HttpTransport).
class ExchangeTransport {
 public:
  virtual ~ExchangeTransport() = default;
  /// Starts an exchange; `sink` must outlive it. Returns at once.
  virtual void start(const ExchangeRequest& request, ResponseSink& sink) = 0;
  /// Waits up to `timeout` and returns the exchanges that finished (possibly none).
  virtual std::vector<ExchangeResponse> wait(std::chrono::milliseconds timeout) = 0;
};

/// The libcurl implementation (curl_transport.cpp): the same options, TLS and deadlines as
/// CurlTransport.
class CurlExchangeTransport final : public ExchangeTransport {
 public:
  CurlExchangeTransport(const CurlGlobal& global, CurlOptions options);
  ~CurlExchangeTransport() override;
  CurlExchangeTransport(const CurlExchangeTransport&) = delete;
  CurlExchangeTransport& operator=(const CurlExchangeTransport&) = delete;

  void start(const ExchangeRequest& request, ResponseSink& sink) override;
  std::vector<ExchangeResponse> wait(std::chrono::milliseconds timeout) override;

 private:
  CurlOptions options_;
  void* multi_ = nullptr;  // CURLM*
  std::map<void*, std::unique_ptr<CurlTransport::Transfer>> transfers_;
};

}  // namespace strata::fetch
