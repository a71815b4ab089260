#pragma once
// The libcurl implementation of HttpTransport: one curl multi handle, parallel transfers,
// connection reuse, HTTP/2 multiplexing where the server offers it, TLS verified.

#include <array>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>

#include "fetch/transport.hpp"
#include "util/error.hpp"

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

/// The variables that name a CA bundle (PEM), in the order they are read: strata's own, then
/// OpenSSL's (uv's users set it), then the ones requests (pip) and curl read.
inline constexpr std::array<const char*, 4> kCaFileVariables = {"STRATA_CA_FILE", "SSL_CERT_FILE",
                                                                "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"};

/// A CA bundle named by the environment, and the variable that named it.
struct CaFile {
  std::filesystem::path path;  ///< empty: none is set (the system's trust store)
  std::string variable;
};

/// The first of kCaFileVariables that is set and not empty.
CaFile ca_file_from_env();

/// What to do about a server certificate strata does not trust, naming the variables (and the
/// bundle in use, if any): one sentence for a message.
std::string ca_file_hint();

/// Where Linux distributions keep their CA bundle: Debian, Ubuntu, Alpine and Arch; Fedora and
/// RHEL; openSUSE; Alpine's and the BSDs' cert.pem.
inline constexpr const char* kSystemCaFiles[] = {
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/ssl/cert.pem",
};

/// The first of `candidates` that is a regular file (symlinks followed); empty when none is. The
/// transport uses it when no CA bundle is named: the release binary is linked against a libcurl
/// built without a compiled-in bundle path, since the build machine's path need not be the
/// image's.
std::filesystem::path system_ca_file(std::span<const char* const> candidates = kSystemCaFiles);

/// Transport settings.
struct CurlOptions {
  std::chrono::seconds connect_timeout{15};
  /// A transfer that moves fewer than `low_speed_limit` bytes/s for this long is abandoned (a
  /// stall, or a server dripping bytes); also the fixed part of every transfer's deadline.
  std::chrono::seconds stall_timeout{30};
  long low_speed_limit = 1024;
  /// Every transfer must end within stall_timeout + size / min_rate, the size being the request's
  /// expected size, else the Content-Length, else kUnknownSize: a slow but steady server cannot
  /// hold a build forever.
  std::uint64_t min_rate = 64 * 1024;
  static constexpr std::uint64_t kUnknownSize = 256ULL << 20;
  std::string user_agent = "strata";
  /// Extra CA bundle (PEM file); empty: the system's trust store.
  std::filesystem::path ca_file;
  long max_host_connections = 0;  ///< 0: no per-host cap beyond the caller's parallelism
};

/// The default options with the CA bundle (ca_file_from_env) and STRATA_HTTP_TIMEOUT (whole
/// seconds, at least 1: the stall_timeout) from the environment; an invalid value is a usage
/// error naming the variable.
Result<CurlOptions> curl_options_from_env();

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
