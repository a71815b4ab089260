#include "wheel/bytecode.hpp"

#include <thread>

#include <gtest/gtest.h>

#include "support/tempdir.hpp"
#include "util/fs.hpp"

namespace strata::wheel {
namespace {
namespace fs = std::filesystem;

// The pool talks to a real interpreter: the Debian one every supported machine has.
const fs::path kPython = "/usr/bin/python3";

std::vector<CompileJob> sources(const fs::path& dir, int count, const std::string& prefix) {
  std::vector<CompileJob> jobs;
  fs::create_directories(dir);
  for (int i = 0; i < count; ++i) {
    fs::path source = dir / (prefix + std::to_string(i) + ".py");
    EXPECT_TRUE(util::write_file_atomic(source, "X = " + std::to_string(i) + "\n"));
    jobs.push_back({source, fs::path("/installed") / source.filename()});
  }
  return jobs;
}

TEST(Compiler, ServesSeveralThreadsAndSkipsFilesThatDoNotCompile) {
  testing::TempDir tmp;
  auto compiler = Compiler::start(kPython, 2);
  ASSERT_TRUE(compiler) << compiler.error().message;
  auto a = sources(tmp.path() / "a", 150, "a");
  auto b = sources(tmp.path() / "b", 3, "b");
  ASSERT_TRUE(util::write_file_atomic(tmp.path() / "b" / "broken.py", "def (:\n"));
  b.push_back({tmp.path() / "b" / "broken.py", "/installed/broken.py"});
  Result<std::vector<CompiledFile>> ra, rb;
  {
    std::jthread ta([&] { ra = (*compiler)->compile(a); });
    std::jthread tb([&] { rb = (*compiler)->compile(b); });
  }
  ASSERT_TRUE(ra) << ra.error().message;
  ASSERT_TRUE(rb) << rb.error().message;
  EXPECT_EQ(ra->size(), 150u);
  ASSERT_EQ(rb->size(), 3u);  // broken.py skipped, as pip does
  for (const auto& c : *rb) {
    EXPECT_TRUE(fs::exists(c.written)) << c.written;
    EXPECT_EQ(c.written.parent_path().filename(), "__pycache__");
    EXPECT_EQ(c.installed_as.parent_path(), "/installed/__pycache__");
  }
  // The same workers answer again.
  auto again = (*compiler)->compile(sources(tmp.path() / "c", 2, "c"));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->size(), 2u);
}

TEST(Compiler, MissingInterpreterIsAnErrorNamingIt) {
  auto compiler = Compiler::start("/nonexistent/strata-python", 1);
  ASSERT_FALSE(compiler);
  EXPECT_NE(compiler.error().message.find("strata-python"), std::string::npos);
}

}  // namespace
}  // namespace strata::wheel
