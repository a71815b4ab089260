#pragma once
// The libcurl implementation of HttpTransport: one curl multi handle, parallel transfers,
// connection reuse, HTTP/2 multiplexing where the server offers it, TLS verified.

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "fetch/transport.hpp"

namespace strata::fetch {

/// curl's process-wide initialisation, held for as long as any transport exists. Made once by
/// the command that fetches (never a static).
class CurlGlobal {
 public:
  CurlGlobal();
  ~CurlGlobal();
  CurlGlobal(const CurlGlobal&) = delete;
  CurlGlobal& operator=(const CurlGlobal&) = delete;
};

/// The CA bundle named by STRATA_CA_FILE, else SSL_CERT_FILE (OpenSSL's variable, which pip's
/// and uv's users already set); empty when neither is set.
std::filesystem::path ca_file_from_env();

/// Transport settings.
struct CurlOptions {
  std::chrono::seconds connect_timeout{15};
  /// A transfer that moves fewer than 16 bytes/s for this long is abandoned (a stall).
  std::chrono::seconds stall_timeout{30};
  std::string user_agent = "strata";
  /// Extra CA bundle (PEM file); empty: the system's trust store.
  std::filesystem::path ca_file;
  long max_host_connections = 0;  ///< 0: no per-host cap beyond the caller's parallelism
};

/// Runs transfers on a curl multi handle in the calling thread.
class CurlTransport final : public HttpTransport {
 public:
  CurlTransport(const CurlGlobal& global, CurlOptions options);
  ~CurlTransport() override;
  CurlTransport(const CurlTransport&) = delete;
  CurlTransport& operator=(const CurlTransport&) = delete;

  void start(const HttpRequest& request, ResponseSink& sink) override;
  std::vector<HttpResponse> wait(std::chrono::milliseconds timeout) override;
  std::chrono::steady_clock::time_point now() const override { return std::chrono::steady_clock::now(); }

  struct Transfer;  ///< one running transfer (defined in the .cpp; public for curl's C callbacks)

 private:
  std::vector<HttpResponse> collect();

  CurlOptions options_;
  void* multi_ = nullptr;  // CURLM*, kept opaque so only the .cpp includes curl
  std::map<void*, std::unique_ptr<Transfer>> transfers_;
};

}  // namespace strata::fetch
