#include "plan/export_command.hpp"

#include <fmt/format.h>

#include "fetch/curl_transport.hpp"
#include "lock/export.hpp"
#include "pep/tags.hpp"
#include "plan/locate.hpp"
#include "util/fs.hpp"

namespace strata::plan {
namespace fs = std::filesystem;

ExportReport run_export(const ExportOptions& options, PlanObserver& observer) {
  if (options.format != "requirements" && options.format != "pylock")
    throw CommandError(ErrorKind::usage,
                       fmt::format("--format {}: expected requirements or pylock", options.format));
  PlanRequest request = options.request;
  request.overlay = false;
  request.build.allow = true;  // source-only packages are exported with their sdist's hash
  Plan plan = prepare(request, observer);

  ExportReport report;
  report.problems = plan.choices.problems;
  // The packages install would install (chosen wheels and builds, the project itself left out),
  // copied so that their files can be located.
  std::vector<lock::Package> packages;
  for (const auto& c : plan.choices.chosen) packages.push_back(*c.package);
  for (const auto& b : plan.choices.builds) packages.push_back(*b.package);
  if (options.format == "pylock" && needs_locating(packages, true) && report.problems.empty()) {
    fetch::FetchOptions index = request.index;
    index.cache_dir = plan.cache_root;
    fetch::CurlGlobal curl;
    fetch::CurlTransport transport(curl, value_or_throw(fetch::curl_options_from_env()));
    fetch::CredentialResolver credentials(fetch::process_env());
    LocateStats stats;
    const TagRanking ranking(pep::supported_tags(plan.target.interpreter.tag_env));
    value_or_throw(locate_hashed_artifacts(packages, plan.lock, index, transport, credentials, stats, true,
                                           locate_target(plan.target.interpreter.version, &ranking)));
    observer.on_phase(
        fmt::format("Located {} files on the index ({} pages asked)", stats.located, stats.pages));
  }
  std::vector<const lock::Package*> pointers;
  for (const auto& p : packages) pointers.push_back(&p);

  const auto& interpreter = plan.target.interpreter;
  const std::string lock_name = plan.files.lock.filename().string();
  const fs::path lock_dir = fs::absolute(plan.files.lock).parent_path();
  std::string header = fmt::format(
      "# Exported by strata from {} for Python {} on {} {}.\n", lock_name, interpreter.version,
      interpreter.markers.contains("sys_platform") ? interpreter.markers.at("sys_platform")
                                                   : std::string("?"),
      interpreter.markers.contains("platform_machine") ? interpreter.markers.at("platform_machine")
                                                       : std::string("?"));
  header += options.format == "requirements"
                ? "# Install with: pip install --require-hashes --no-deps -r <this file>\n"
                : "# Install with: strata install <this file> (or any PEP 751 installer)\n";
  if (report.problems.empty()) {
    auto written = options.format == "requirements"
                       ? lock::write_requirements_file(plan.lock, pointers, lock_dir, header)
                       : lock::write_pylock_file(plan.lock, pointers, lock_dir, header);
    if (written)
      report.content = std::move(*written);
    else
      report.problems.push_back(written.error().message);
  }

  nlohmann::json listed = nlohmann::json::array();
  for (const auto* p : pointers) listed.push_back({{"name", p->name}, {"version", p->version_text}});
  report.json = {{"command", "export"},
                 {"lock", plan.files.lock.string()},
                 {"format", options.format},
                 {"output", options.out.empty() ? nlohmann::json(nullptr) : nlohmann::json(options.out)},
                 {"target", to_json(plan.target)},
                 {"packages", listed},
                 {"problems", report.problems}};
  if (!report.problems.empty()) {
    report.exit_code = exit_code(ErrorKind::check);
    report.summary = fmt::format("Nothing exported: {} problem{}", report.problems.size(),
                                 report.problems.size() == 1 ? "" : "s");
    return report;
  }
  if (!options.out.empty()) {
    value_or_throw(util::write_file_atomic(options.out, report.content));
    report.summary = fmt::format("Exported {} packages to {}", pointers.size(), options.out);
  } else {
    report.json["content"] = report.content;
    report.summary = fmt::format("Exported {} packages", pointers.size());
  }
  return report;
}

}  // namespace strata::plan
