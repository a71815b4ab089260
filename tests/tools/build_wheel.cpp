// Test-only driver (not shipped): builds one wheel from a source tree with build::Builder. Used
// by integration/test_build_core.py until `strata install` drives the same code.
//
//   strata_build_wheel --python PY --cache DIR --tree DIR --name NAME [--version V]
//                      [--source-key KEY] [--epoch N] [--index-url URL] [--find-links DIR]...
//                      [--build-constraints FILE] [--no-isolation] [--target-site DIR]
//                      [--timeout SECONDS] [--log-dir DIR] [--offline] [--jobs N --tree2 DIR]
//
// Prints one JSON document: {"wheel", "filename", "sha256", "build_requirements", "backend",
// "cached", "log", "duration_ms"}; on failure {"error", "kind"} and exit status 1.

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "build/build.hpp"
#include "env/probe.hpp"
#include "fetch/curl_transport.hpp"

namespace {

struct Collect final : strata::build::BuildObserver {
  std::vector<std::string> details;
  bool started = false;
  void on_build_start(const strata::build::BuildSource&) override { started = true; }
  void on_detail(std::string_view message) override { details.emplace_back(message); }
};

}  // namespace

int main(int argc, char** argv) {
  using namespace strata;
  std::string python = "python3";
  build::BuildSource source;
  build::BuildOptions options;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (arg == "--python")
      python = next();
    else if (arg == "--cache")
      options.cache_root = next();
    else if (arg == "--tree")
      source.tree = next();
    else if (arg == "--name")
      source.name = next();
    else if (arg == "--version")
      source.version = next();
    else if (arg == "--source-key")
      source.source_key = next();
    else if (arg == "--epoch")
      source.source_date_epoch = std::stoll(next());
    else if (arg == "--index-url")
      options.fetch.index_url = next();
    else if (arg == "--find-links")
      options.fetch.find_links.push_back(next());
    else if (arg == "--build-constraints")
      options.build_constraints = next();
    else if (arg == "--no-isolation")
      options.isolation = false;
    else if (arg == "--target-site")
      options.target_site = next();
    else if (arg == "--timeout")
      options.timeout = std::chrono::seconds(std::stoll(next()));
    else if (arg == "--log-dir")
      options.log_dir = next();
    else if (arg == "--offline")
      options.fetch.offline = true;
    else {
      std::fprintf(stderr, "unknown argument %s\n", arg.c_str());
      return 2;
    }
  }
  if (source.source_key.empty()) source.source_key = "dir:" + source.tree.string();
  options.fetch.cache_dir = options.cache_root;
  auto interpreter = env::probe_interpreter(python, {});
  if (!interpreter) {
    std::cout << nlohmann::json{{"error", interpreter.error().message}, {"kind", "runtime"}}.dump() << "\n";
    return 1;
  }
  options.interpreter = *interpreter;
  fetch::CurlGlobal curl;
  fetch::CurlOptions curl_options;
  curl_options.ca_file = fetch::ca_file_from_env();
  fetch::CurlTransport transport(curl, curl_options);
  fetch::CredentialResolver credentials(fetch::process_env());
  Collect observer;
  build::Builder builder(options, transport, credentials);
  auto built = builder.build(source, observer);
  if (!built) {
    std::cout << nlohmann::json{{"error", built.error().message},
                                {"kind", built.error().kind == ErrorKind::usage ? "usage" : "runtime"},
                                {"details", observer.details}}
                     .dump()
              << "\n";
    return 1;
  }
  nlohmann::json out = {{"wheel", built->wheel.string()},
                        {"filename", built->filename},
                        {"sha256", built->sha256},
                        {"build_requirements", built->build_requirements},
                        {"backend", built->backend},
                        {"cached", built->cached},
                        {"started", observer.started},
                        {"log", built->log.string()},
                        {"duration_ms", built->duration.count()},
                        {"details", observer.details}};
  std::cout << out.dump() << "\n";
  return 0;
}
