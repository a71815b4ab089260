// The bars of the live display fit the terminal: the bar shrinks, then goes, then the text is cut.

#include "cli/progress.hpp"

#include <gtest/gtest.h>

namespace strata::cli {
namespace {

TEST(ProgressBar, FillsInProportion) {
  EXPECT_EQ(bar_line("Unpacking", 0.5, "2/4 wheels", 80, false),
            "Unpacking   [" + std::string(14, '=') + ">" + std::string(15, ' ') + "] 2/4 wheels");
  EXPECT_EQ(bar_line("Unpacking", 1.0, "4/4 wheels", 80, false),
            "Unpacking   [" + std::string(30, '=') + "] 4/4 wheels");
  EXPECT_EQ(bar_line("Unpacking", 0.0, "0/4 wheels", 80, false),
            "Unpacking   [" + std::string(30, ' ') + "] 0/4 wheels");
}

TEST(ProgressBar, FitsNarrowTerminals) {
  const std::string stats = "45.2 MiB/101.2 MiB  12.3 MiB/s  40/81 files";
  for (std::size_t width : {20u, 40u, 60u, 70u, 80u, 200u}) {
    std::string line = bar_line("Downloading", 0.4, stats, width, false);
    EXPECT_LT(line.size(), width) << line;
  }
  EXPECT_EQ(bar_line("Downloading", 0.4, stats, 60, false), "Downloading " + stats);  // no room for a bar
}

TEST(ProgressBar, ColorsOnlyTheFill) {
  EXPECT_EQ(
      bar_line("Compiling", 0.5, "1/2 files", 60, true),
      "Compiling   [\x1b[32m" + std::string(14, '=') + ">\x1b[0m" + std::string(15, ' ') + "] 1/2 files");
}

}  // namespace
}  // namespace strata::cli
