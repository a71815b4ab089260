#pragma once
// Progress on the console for fetch and install. Every stage of an install ends with one line of
// counts, sizes and time ("Compiled 6,108 files in 4.21s"), and with -v each package is a line
// ("+ numpy 2.2.6 (downloaded 15.1 MiB)"): what a CI log wants. On a terminal (Console::live), a
// bar for each stage that runs (download: bytes, rate and files; unpack; compile; commit), redrawn
// by a ticker thread ten times a second and erased before anything else is printed and at the end.
// Download and install code only call the observer interface.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "cli/console.hpp"
#include "fetch/fetch.hpp"
#include "plan/install.hpp"

namespace strata::cli {

/// What one bar shows, as text: "Downloading [=====>    ] 45.2 MiB/101.2 MiB  12.3 MiB/s  40/81
/// files", fitted into `width` columns (the bar shrinks, then goes, then the text is cut). With
/// `color`, the filled part of the bar is green. Exposed for tests.
std::string bar_line(std::string_view label, double fraction, std::string_view stats, std::size_t width,
                     bool color);

/// Reports fetch and install events on the console. Thread-safe: builds and the prepare workers
/// report from their threads while the files download.
class ConsoleProgress final : public plan::InstallObserver {
 public:
  explicit ConsoleProgress(const Console& console);
  ~ConsoleProgress() override;
  ConsoleProgress(const ConsoleProgress&) = delete;
  ConsoleProgress& operator=(const ConsoleProgress&) = delete;

  // fetch::ProgressObserver
  void on_start(std::size_t files, std::uint64_t known_bytes) override;
  void on_bytes(std::int64_t delta) override;
  void on_done(const fetch::FetchedArtifact& artifact) override;
  void on_retry(std::string_view url, int attempt, std::chrono::milliseconds delay,
                std::string_view reason) override;
  void on_detail(std::string_view message) override;
  // plan::PlanObserver
  void on_phase(std::string_view line) override;
  void on_warning(std::string_view line) override;
  // plan::InstallObserver
  void on_stage(plan::Stage stage, std::size_t total) override;
  void on_stage_done(plan::Stage stage) override;
  void on_unpacked(std::string_view name, std::size_t files) override;
  void on_compiling(std::size_t queued, std::size_t done) override;
  void on_installed(const plan::InstalledPackage& package) override;

  /// Stops the bars and erases them (before the summary and at the end).
  void clear();

 private:
  using Clock = std::chrono::steady_clock;
  struct StageState {
    bool active = false;
    Clock::time_point started{};
    std::size_t total = 0, done = 0;
    std::uint64_t items = 0;  ///< unpack: files unpacked
  };
  StageState& state(plan::Stage stage) { return stages_[static_cast<std::size_t>(stage)]; }
  /// Prints a line above the bars (with the console's level filter applied by `print`).
  template <typename Print>
  void above(Print&& print) {
    erase();
    print();
    draw();
  }
  void tick();
  void draw();   // the bars, in place of the ones drawn before
  void erase();  // the bars, cursor back where they began
  std::vector<std::string> frame();
  std::string stage_line(plan::Stage stage) const;

  std::mutex mutex_;  // guards everything below and the console
  const Console& console_;
  bool live_ = false;
  std::size_t drawn_ = 0;  ///< lines of bars on the screen
  StageState stages_[4];
  std::size_t files_ = 0, downloaded_ = 0, cached_ = 0, linked_ = 0;  ///< linked_: from --find-links
  std::uint64_t bytes_ = 0, total_bytes_ = 0;
  std::deque<std::pair<Clock::time_point, std::uint64_t>> samples_;  ///< bytes over the last seconds
  bool stopping_ = false;
  std::condition_variable wake_;
  std::thread ticker_;  ///< redraws the bars while live
};

}  // namespace strata::cli
