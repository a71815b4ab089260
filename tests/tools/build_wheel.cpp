// Test-only driver (not shipped): builds one wheel from a source tree with build::Builder. Used
// by integration/test_build_core.py until `strata install` drives the same code.
//
//   strata_build_wheel --python PY --cache DIR --tree DIR --name NAME [--version V]
//                      [--source-key KEY] [--epoch N] [--index-url URL] [--find-links DIR]...
//                      [--build-constraints FILE] [--no-isolation] [--target-site DIR]
//                      [--timeout SECONDS] [--log-dir DIR] [--offline]
//                      [--also NAME VERSION TREE]...
//
// Prints one JSON document: {"wheel", "filename", "sha256", "build_requirements", "backend",
// "cached", "started", "log", "duration_ms", "details"}; on failure {"error", "kind"} and exit
// status 1. With --also, every source is built at once on its own thread by one Builder, and
// the document is {"results": [one of the above per source, --tree first]}.

#include <cstdio>
#include <iostream>
#include <string>
#include <thread>
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
  std::vector<build::BuildSource> also;
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
    else if (arg == "--also" && i + 3 < argc) {
      build::BuildSource extra;
      extra.name = argv[++i];
      extra.version = argv[++i];
      extra.tree = argv[++i];
      extra.source_key = "dir:" + extra.tree.string();
      also.push_back(std::move(extra));
    } else {
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
  curl_options.ca_file = fetch::ca_file_from_env().path;
  fetch::CurlTransport transport(curl, curl_options);
  fetch::CredentialResolver credentials(fetch::process_env());
  build::Builder builder(options, transport, credentials);
  std::vector<build::BuildSource> sources{source};
  sources.insert(sources.end(), also.begin(), also.end());
  std::vector<nlohmann::json> results(sources.size());
  auto run = [&](std::size_t i) {
    Collect observer;
    auto built = builder.build(sources[i], observer);
    if (!built) {
      results[i] = {{"error", built.error().message},
                    {"kind", built.error().kind == ErrorKind::usage ? "usage" : "runtime"},
                    {"details", observer.details}};
      return;
    }
    results[i] = {{"wheel", built->wheel.string()},
                  {"filename", built->filename},
                  {"sha256", built->sha256},
                  {"build_requirements", built->build_requirements},
                  {"backend", built->backend},
                  {"cached", built->cached},
                  {"started", observer.started},
                  {"log", built->log.string()},
                  {"duration_ms", built->duration.count()},
                  {"details", observer.details}};
  };
  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < sources.size(); ++i) threads.emplace_back(run, i);
  run(0);
  for (auto& t : threads) t.join();
  bool failed = false;
  for (const auto& r : results) failed = failed || r.contains("error");
  nlohmann::json out = also.empty() ? results.front() : nlohmann::json{{"results", results}};
  std::cout << out.dump() << "\n";
  return failed ? 1 : 0;
}
