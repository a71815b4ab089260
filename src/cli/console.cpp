#include "cli/console.hpp"

#include <unistd.h>

#include <cstdlib>

#include <fmt/format.h>

#include "util/url.hpp"

namespace strata::cli {

Console::Console(const GlobalOptions& options)
    : json_(options.json), verbosity_(options.quiet ? -1 : options.verbose) {
  const char* term = std::getenv("TERM");
  const bool capable =
      ::isatty(STDERR_FILENO) != 0 && term != nullptr && *term != '\0' && std::string_view(term) != "dumb";
  if (options.color == "always") {
    color_ = true;
  } else if (options.color == "auto") {
    const char* no_color = std::getenv("NO_COLOR");
    color_ = (no_color == nullptr || *no_color == '\0') && capable;
  }
  live_ = capable && verbosity_ >= 0 && !json_;
}

int Console::interrupted(std::string_view consequence) const {
  fmt::print(stderr, "interrupted; {}\n", consequence);
  return 130;
}

// Every line and document passes through util::redact_urls_in: whatever layer wrote a message,
// no URL credential reaches the terminal or a log (SPEC "Credentials").
void Console::info(std::string_view line) const {
  if (verbosity_ >= 0) fmt::print(stderr, "{}\n", util::redact_urls_in(line));
}

void Console::detail(std::string_view line) const {
  if (verbosity_ > 0) fmt::print(stderr, "{}\n", util::redact_urls_in(line));
}

void Console::warn(std::string_view line) const {
  if (color_)
    fmt::print(stderr, "\x1b[33mwarning:\x1b[0m {}\n", util::redact_urls_in(line));
  else
    fmt::print(stderr, "warning: {}\n", util::redact_urls_in(line));
}

void Console::error_line(std::string_view line) const {
  if (color_)
    fmt::print(stderr, "\x1b[31merror:\x1b[0m {}\n", util::redact_urls_in(line));
  else
    fmt::print(stderr, "error: {}\n", util::redact_urls_in(line));
}

void Console::error(const Error& error) const {
  error_line(error.message);
  if (json_) {
    emit({{"ok", false}, {"error", {{"message", error.message}, {"exit_code", exit_code(error.kind)}}}});
  }
}

void Console::emit(const nlohmann::json& document) const {
  if (!json_) return;
  // Inside the dump a URL ends at its closing quote (quotes and backslashes inside strings are
  // escaped), so the text can be redacted as it is.
  fmt::print(stdout, "{}\n", util::redact_urls_in(document.dump(2)));
  std::fflush(stdout);
}

}  // namespace strata::cli
