#pragma once
// Progress on the console for fetch and install: retries and phases as lines, a live counter of
// files, bytes and packages when stderr is a terminal. Download and install code only call the
// observer interface.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <mutex>

#include <fmt/format.h>

#include "cli/console.hpp"
#include "fetch/fetch.hpp"
#include "plan/install.hpp"

namespace strata::cli {

/// Reports fetch and install events on the console: details with -v, retries always (they explain a slow
/// run), and a one-line live counter of files and bytes when stderr is a terminal. Thread-safe: builds
/// report from their threads while the files download.
class ConsoleProgress final : public plan::InstallObserver {
 public:
  ConsoleProgress(const Console& console, bool live) : console_(console), live_(live) {}
  ~ConsoleProgress() override { clear(); }
  ConsoleProgress(const ConsoleProgress&) = delete;
  ConsoleProgress& operator=(const ConsoleProgress&) = delete;

  void on_start(std::size_t files, std::uint64_t known_bytes) override {
    std::lock_guard lock(mutex_);
    files_ = files;
    total_bytes_ = known_bytes;
    draw(true);
  }
  void on_bytes(std::int64_t delta) override {
    std::lock_guard lock(mutex_);
    bytes_ = static_cast<std::uint64_t>(std::max<std::int64_t>(0, static_cast<std::int64_t>(bytes_) + delta));
    draw(false);
  }
  void on_done(const fetch::FetchedArtifact& artifact) override {
    std::lock_guard lock(mutex_);
    if (artifact.origin == fetch::ArtifactOrigin::download) ++done_;
    draw(true);
  }
  void on_retry(std::string_view url, int attempt, std::chrono::milliseconds delay,
                std::string_view reason) override {
    std::lock_guard lock(mutex_);
    clear_line();
    console_.info(fmt::format("retrying {} in {:.1f}s (attempt {} failed: {})", url,
                              static_cast<double>(delay.count()) / 1000.0, attempt, reason));
  }
  void on_detail(std::string_view message) override {
    std::lock_guard lock(mutex_);
    clear_line();
    console_.detail(message);
  }
  void on_phase(std::string_view line) override {
    std::lock_guard lock(mutex_);
    clear_line();
    console_.info(line);
  }
  void on_warning(std::string_view line) override {
    std::lock_guard lock(mutex_);
    clear_line();
    console_.warn(line);
  }
  void on_installed(std::string_view /*name*/, std::size_t done, std::size_t total) override {
    std::lock_guard lock(mutex_);
    if (!live_) return;
    fmt::print(stderr, "\r\x1b[2KInstalled {}/{} packages", done, total);
    std::fflush(stderr);
    drawn_ = true;
  }
  /// Removes the live line (before other output and at the end).
  void clear() {
    std::lock_guard lock(mutex_);
    clear_line();
  }

 private:
  void clear_line() {
    if (!drawn_) return;
    std::fputs("\r\x1b[2K", stderr);
    std::fflush(stderr);
    drawn_ = false;
  }

  void draw(bool force) {
    if (!live_ || files_ == 0) return;
    auto now = std::chrono::steady_clock::now();
    if (!force && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    constexpr double kMiB = 1024.0 * 1024.0;
    std::string total =
        total_bytes_ > 0 ? fmt::format("/{:.1f}", static_cast<double>(total_bytes_) / kMiB) : "";
    fmt::print(stderr, "\r\x1b[2KFetching {}/{} files, {:.1f}{} MiB", done_, files_,
               static_cast<double>(bytes_) / kMiB, total);
    std::fflush(stderr);
    drawn_ = true;
  }

  std::mutex mutex_;  // guards everything below and the console
  const Console& console_;
  bool live_ = false;
  bool drawn_ = false;
  std::size_t files_ = 0, done_ = 0;
  std::uint64_t bytes_ = 0, total_bytes_ = 0;
  std::chrono::steady_clock::time_point last_draw_{};
};

}  // namespace strata::cli
