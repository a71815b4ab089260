#include "cli/progress.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include <fmt/format.h>

#include "util/counts.hpp"
#include "util/interrupt.hpp"
#include "util/strings.hpp"

namespace strata::cli {
namespace {

using plan::Stage;

constexpr auto kRedraw = std::chrono::milliseconds(100);  // ten frames a second at most
constexpr auto kRateWindow = std::chrono::seconds(3);
constexpr std::size_t kLabel = 12;  // "Downloading " and the others padded to it

std::size_t terminal_width() {
  winsize size{};
  if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) return size.ws_col;
  return 80;
}

void write_stderr(const std::string& text) {
  std::fwrite(text.data(), 1, text.size(), stderr);
  std::fflush(stderr);
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double fraction(std::uint64_t done, std::uint64_t total) {
  return total == 0 ? 0.0 : std::min(1.0, static_cast<double>(done) / static_cast<double>(total));
}

/// "12 of 81 wheels" when not all are done, else "81 wheels".
std::string done_of(std::size_t done, std::size_t total, std::string_view noun) {
  if (done >= total) return util::counted(done, noun);
  return fmt::format("{} of {}", util::thousands(done), util::counted(total, noun));
}

}  // namespace

std::string bar_line(std::string_view label, double fraction, std::string_view stats, std::size_t width,
                     bool color) {
  std::string head = fmt::format("{:<{}}", label, kLabel);
  const std::size_t fixed = head.size() + stats.size() + 3;  // "[", "] "
  if (width > fixed + 10) {
    const std::size_t bar = std::min<std::size_t>(30, width - fixed - 1);
    const auto filled = static_cast<std::size_t>(fraction * static_cast<double>(bar) + 0.5);
    std::string fill(filled, '=');
    if (filled > 0 && filled < bar) fill.back() = '>';
    std::string rest(bar - filled, ' ');
    return color ? fmt::format("{}[\x1b[32m{}\x1b[0m{}] {}", head, fill, rest, stats)
                 : fmt::format("{}[{}{}] {}", head, fill, rest, stats);
  }
  std::string line = head + std::string(stats);
  if (width > 1 && line.size() >= width) line.resize(width - 1);
  return line;
}

ConsoleProgress::ConsoleProgress(const Console& console) : console_(console), live_(console.live()) {
  if (live_) ticker_ = std::thread([this] { tick(); });
}

ConsoleProgress::~ConsoleProgress() { clear(); }

void ConsoleProgress::tick() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, kRedraw, [&] { return stopping_; });
    if (stopping_) break;
    samples_.emplace_back(Clock::now(), bytes_);
    while (samples_.size() > 1 && samples_.front().first < Clock::now() - kRateWindow) samples_.pop_front();
    draw();
  }
}

void ConsoleProgress::clear() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    erase();
  }
  wake_.notify_all();
  if (ticker_.joinable()) ticker_.join();
}

void ConsoleProgress::erase() {
  if (drawn_ == 0) return;
  write_stderr(fmt::format("\x1b[{}F\x1b[J", drawn_));
  drawn_ = 0;
}

void ConsoleProgress::draw() {
  if (!live_ || stopping_) return;
  std::vector<std::string> lines = frame();
  if (lines.empty() && drawn_ == 0) return;
  // One write: back to the first line of the bars, each line written over the old one and the
  // rest of it erased, then whatever is left below: no blank frame in between, so no flicker.
  std::string out = drawn_ > 0 ? fmt::format("\x1b[{}F", drawn_) : std::string();
  for (const auto& line : lines) out += line + "\x1b[K\n";
  out += "\x1b[J";
  write_stderr(out);
  drawn_ = lines.size();
}

std::vector<std::string> ConsoleProgress::frame() {
  const std::size_t width = terminal_width();
  const bool color = console_.color();
  std::vector<std::string> lines;
  if (const StageState& s = state(Stage::download); s.active) {
    double rate = 0;
    if (samples_.size() > 1) {
      const auto& [t0, b0] = samples_.front();
      const auto& [t1, b1] = samples_.back();
      const double dt = std::chrono::duration<double>(t1 - t0).count();
      if (dt > 0.2) rate = static_cast<double>(b1 - std::min(b0, b1)) / dt;
    }
    std::string size = total_bytes_ > 0
                           ? fmt::format("{}/{}", util::human_size(bytes_), util::human_size(total_bytes_))
                           : util::human_size(bytes_);
    std::string stats = fmt::format("{}  {}/s  {}/{} files", size,
                                    util::human_size(static_cast<std::uint64_t>(rate)), downloaded_, files_);
    lines.push_back(bar_line(
        "Downloading", total_bytes_ > 0 ? fraction(bytes_, total_bytes_) : fraction(downloaded_, files_),
        stats, width, color));
  }
  if (const StageState& s = state(Stage::unpack); s.active && s.total > 0)
    lines.push_back(bar_line("Unpacking", fraction(s.done, s.total),
                             fmt::format("{}/{} wheels", s.done, s.total), width, color));
  if (const StageState& s = state(Stage::compile); s.active && s.total > 0)
    lines.push_back(bar_line("Compiling", fraction(s.done, s.total),
                             fmt::format("{}/{} files", util::thousands(s.done), util::thousands(s.total)),
                             width, color));
  if (const StageState& s = state(Stage::commit); s.active && s.total > 0)
    lines.push_back(bar_line("Committing", fraction(s.done, s.total),
                             fmt::format("{}/{} packages", s.done, s.total), width, color));
  return lines;
}

std::string ConsoleProgress::stage_line(Stage stage) const {
  const StageState& s = stages_[static_cast<std::size_t>(stage)];
  const double seconds = seconds_since(s.started);
  switch (stage) {
    case Stage::download: {
      std::vector<std::string> local;
      if (cached_ > 0) local.push_back(fmt::format("{} in the cache", util::counted(cached_, "file")));
      if (linked_ > 0) local.push_back(fmt::format("{} from --find-links", util::counted(linked_, "file")));
      if (files_ == 0) return local.empty() ? "" : "No downloads: " + util::join(local, ", ");
      std::string cached = local.empty() ? "" : "; " + util::join(local, ", ");
      const double rate = seconds > 0 ? static_cast<double>(bytes_) / seconds : 0;
      return fmt::format("Downloaded {}, {} in {:.2f}s ({}/s){}", done_of(downloaded_, files_, "file"),
                         util::human_size(bytes_), seconds,
                         util::human_size(static_cast<std::uint64_t>(rate)), cached);
    }
    case Stage::unpack:
      if (s.done == 0) return "";
      return fmt::format("Unpacked {} ({}) in {:.2f}s", done_of(s.done, s.total, "wheel"),
                         util::counted(s.items, "file"), seconds);
    case Stage::compile:
      if (s.total == 0) return "";
      return fmt::format("Compiled {} in {:.2f}s", done_of(s.done, s.total, "file"), seconds);
    case Stage::commit:
      return fmt::format("Committed {} in {:.2f}s", done_of(s.done, s.total, "package"), seconds);
  }
  return "";
}

void ConsoleProgress::on_start(std::size_t files, std::uint64_t known_bytes) {
  std::lock_guard lock(mutex_);
  files_ = files;
  total_bytes_ = known_bytes;
  StageState& s = state(Stage::download);
  s.active = true;
  s.started = Clock::now();
  draw();
}

void ConsoleProgress::on_bytes(std::int64_t delta) {
  std::lock_guard lock(mutex_);
  bytes_ = static_cast<std::uint64_t>(std::max<std::int64_t>(0, static_cast<std::int64_t>(bytes_) + delta));
}

void ConsoleProgress::on_done(const fetch::FetchedArtifact& artifact) {
  std::lock_guard lock(mutex_);
  if (artifact.origin != fetch::ArtifactOrigin::download) {
    ++(artifact.origin == fetch::ArtifactOrigin::find_links ? linked_ : cached_);
    return;
  }
  ++downloaded_;
  if (console_.verbose())
    above([&] {
      console_.detail(fmt::format("{}: downloaded {} ({})", artifact.package, artifact.filename,
                                  util::human_size(artifact.size)));
    });
}

void ConsoleProgress::on_retry(std::string_view url, int attempt, std::chrono::milliseconds delay,
                               std::string_view reason) {
  std::lock_guard lock(mutex_);
  above([&] {
    console_.info(fmt::format("retrying {} in {:.1f}s (attempt {} failed: {})", url,
                              static_cast<double>(delay.count()) / 1000.0, attempt, reason));
  });
}

void ConsoleProgress::on_detail(std::string_view message) {
  std::lock_guard lock(mutex_);
  if (console_.verbose()) above([&] { console_.detail(message); });
}

void ConsoleProgress::on_phase(std::string_view line) {
  std::lock_guard lock(mutex_);
  above([&] { console_.info(line); });
}

void ConsoleProgress::on_warning(std::string_view line) {
  std::lock_guard lock(mutex_);
  above([&] { console_.warn(line); });
}

void ConsoleProgress::on_stage(Stage stage, std::size_t total) {
  std::lock_guard lock(mutex_);
  StageState& s = state(stage);
  s = StageState{.active = true, .started = Clock::now(), .total = total, .done = 0, .items = 0};
}

void ConsoleProgress::on_stage_done(Stage stage) {
  std::lock_guard lock(mutex_);
  StageState& s = state(stage);
  // Every file in the cache: the download stage never began, and its line says so.
  const bool had_work = s.active || (stage == Stage::download && cached_ + linked_ > 0);
  s.active = false;
  // An interrupted run says so itself; its stages are not "done".
  if (!had_work || util::interrupted()) return draw();
  std::string line = stage_line(stage);
  above([&] {
    if (!line.empty()) console_.info(line);
  });
}

void ConsoleProgress::on_unpacked(std::string_view /*name*/, std::size_t files) {
  std::lock_guard lock(mutex_);
  StageState& s = state(Stage::unpack);
  ++s.done;
  s.items += files;
}

void ConsoleProgress::on_compiling(std::size_t queued, std::size_t done) {
  std::lock_guard lock(mutex_);
  StageState& s = state(Stage::compile);
  s.total += queued;
  s.done += done;
}

void ConsoleProgress::on_installed(const plan::InstalledPackage& package) {
  std::lock_guard lock(mutex_);
  state(Stage::commit).done = package.done;
  if (!console_.verbose()) return;
  std::string origin;
  if (package.built)
    origin = package.build_cached ? "built wheel from the cache" : "built from source";
  else if (package.origin == fetch::ArtifactOrigin::download)
    origin = fmt::format("downloaded {}", util::human_size(package.bytes));
  else if (package.origin == fetch::ArtifactOrigin::find_links)
    origin = "from --find-links";
  else
    origin = "cached";
  if (!package.replaced_version.empty()) origin += fmt::format("; replaces {}", package.replaced_version);
  above([&] { console_.detail(fmt::format("+ {} {} ({})", package.name, package.version, origin)); });
}

}  // namespace strata::cli
