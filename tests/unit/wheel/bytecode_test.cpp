#include "wheel/bytecode.hpp"

#include <algorithm>
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
    jobs.push_back({source, source.filename().string(), pyc_path(source, "test-tag")});
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
  b.push_back({tmp.path() / "b" / "broken.py", "broken.py", tmp.path() / "b" / "broken.pyc"});
  Result<std::vector<bool>> ra, rb;
  {
    std::jthread ta([&] { ra = (*compiler)->compile(a); });
    std::jthread tb([&] { rb = (*compiler)->compile(b); });
  }
  ASSERT_TRUE(ra) << ra.error().message;
  ASSERT_TRUE(rb) << rb.error().message;
  EXPECT_EQ(std::count(ra->begin(), ra->end(), true), 150);
  EXPECT_EQ(*rb, (std::vector<bool>{true, true, true, false}));  // broken.py skipped, as pip does
  for (const auto& job : a) EXPECT_TRUE(fs::exists(job.cfile)) << job.cfile;
  EXPECT_FALSE(fs::exists(tmp.path() / "b" / "broken.pyc"));
  // The pyc records the given file name, and is hash-based (flags 0b01: unchecked-hash).
  auto pyc = util::read_file(b[0].cfile);
  ASSERT_TRUE(pyc);
  EXPECT_EQ((*pyc)[4], 1);
  EXPECT_NE(pyc->find("b0.py"), std::string::npos);
  EXPECT_EQ(pyc->find(tmp.path().string()), std::string::npos);
  // The same workers answer again.
  auto again = (*compiler)->compile(sources(tmp.path() / "c", 2, "c"));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->size(), 2u);
  auto id = (*compiler)->identity();
  ASSERT_TRUE(id);
  EXPECT_TRUE(id->cache_tag.starts_with("cpython-3")) << id->cache_tag;
  EXPECT_TRUE(id->key.starts_with(id->cache_tag + "-")) << id->key;
  EXPECT_TRUE(id->hash_based);
}

TEST(Compiler, MissingInterpreterIsAnErrorNamingIt) {
  auto compiler = Compiler::start("/nonexistent/strata-python", 1);
  ASSERT_FALSE(compiler);
  EXPECT_NE(compiler.error().message.find("strata-python"), std::string::npos);
}

}  // namespace
}  // namespace strata::wheel
