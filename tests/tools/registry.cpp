// Test-only driver (not shipped) of oci::RegistryClient for integration/test_registry.py, until
// `strata image --push` drives the same code:
//
//   strata_registry push LAYOUT REF [options]     push the only image of an OCI layout
//   strata_registry pull REF LAYOUT [options]     pull an image into an OCI layout
//   options: --creds-file FILE, --insecure-registry HOST (repeatable), --platform OS/ARCH[/V],
//            --parallel N, --monolithic-max BYTES, --retry-delay-ms MS, --chunk-size BYTES, --sources FILE,
//            --tag TAG
//
// Prints one JSON document (the TransferReport); errors go to stderr, redacted, with strata's
// exit codes.

#include <cstdio>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "fetch/curl_transport.hpp"
#include "oci/registry.hpp"
#include "util/strings.hpp"
#include "util/url.hpp"

namespace {

using namespace strata;

int usage(const std::string& why) {
  fmt::print(stderr,
             "strata_registry: {}\nusage: strata_registry push LAYOUT REF | pull REF LAYOUT [options]\n",
             why);
  return 2;
}

nlohmann::json to_json(const oci::TransferReport& r) {
  nlohmann::json blobs = nlohmann::json::array();
  for (const auto& b : r.blobs)
    blobs.push_back({{"digest", b.blob.digest},
                     {"size", b.blob.size},
                     {"mediaType", b.blob.media_type},
                     {"action", oci::to_string(b.action)},
                     {"mounted_from", b.mounted_from},
                     {"bytes", b.bytes}});
  return {{"reference", r.reference},
          {"manifest",
           {{"digest", r.manifest.digest},
            {"size", r.manifest.size},
            {"mediaType", r.manifest.media_type},
            {"action", oci::to_string(r.manifest_action)}}},
          {"blobs", blobs},
          {"bytes_uploaded", r.bytes_uploaded},
          {"bytes_downloaded", r.bytes_downloaded},
          {"requests", r.requests}};
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::vector<std::string> positional;
  oci::RegistryOptions options;
  oci::Platform platform = oci::host_platform();
  std::vector<std::string> tags;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&]() -> std::optional<std::string> {
      if (i + 1 >= args.size()) return std::nullopt;
      return args[++i];
    };
    auto number = [&]() -> std::optional<unsigned long long> {
      auto v = value();
      return v ? util::parse_uint(*v) : std::nullopt;
    };
    if (a == "--creds-file") {
      auto v = value();
      if (!v) return usage("--creds-file needs a FILE");
      options.creds_file = *v;
    } else if (a == "--insecure-registry") {
      auto v = value();
      if (!v) return usage("--insecure-registry needs a HOST");
      options.insecure_registries.push_back(*v);
    } else if (a == "--platform") {
      auto v = value();
      if (!v) return usage("--platform needs OS/ARCH[/VARIANT]");
      auto p = oci::parse_platform(*v);
      if (!p) return usage(p.error().message);
      platform = *p;
    } else if (a == "--parallel") {
      auto n = number();
      if (!n || *n == 0) return usage("--parallel needs a positive number");
      options.parallelism = *n;
    } else if (a == "--monolithic-max") {
      auto n = number();
      if (!n) return usage("--monolithic-max needs a number");
      options.monolithic_max = *n;
    } else if (a == "--chunk-size") {
      auto n = number();
      if (!n || *n == 0) return usage("--chunk-size needs a positive number");
      options.chunk_size = *n;
    } else if (a == "--retry-delay-ms") {
      auto n = number();
      if (!n) return usage("--retry-delay-ms needs a number");
      options.retry.base_delay = std::chrono::milliseconds(static_cast<long long>(*n));
      options.retry.max_delay = std::chrono::milliseconds(static_cast<long long>(*n) * 4);
    } else if (a == "--sources") {
      auto v = value();
      if (!v) return usage("--sources needs a FILE");
      options.blob_sources_file = *v;
    } else if (a == "--tag") {
      auto v = value();
      if (!v) return usage("--tag needs a TAG");
      tags.push_back(*v);
    } else if (a.starts_with("--")) {
      return usage("unknown option " + a);
    } else {
      positional.push_back(a);
    }
  }
  if (positional.size() != 3 || (positional[0] != "push" && positional[0] != "pull"))
    return usage("expected push LAYOUT REF or pull REF LAYOUT");
  auto fail = [](const Error& e) {
    fmt::print(stderr, "error: {}\n", util::redact_urls_in(e.message));
    return exit_code(e.kind);
  };
  auto curl_options = fetch::curl_options_from_env();
  if (!curl_options) return fail(curl_options.error());
  fetch::CurlGlobal global;
  oci::RegistryClient client(oci::curl_transport_factory(global, *curl_options), options,
                             fetch::process_env());
  bool push = positional[0] == "push";
  auto ref = oci::Reference::parse(push ? positional[2] : positional[1]);
  if (!ref) return fail(ref.error());
  auto report = push ? client.push(positional[1], *ref, std::nullopt, tags)
                     : client.pull(*ref, platform, positional[2]);
  if (!report) return fail(report.error());
  fmt::print("{}\n", util::redact_urls_in(to_json(*report).dump(2)));
  return 0;
}
