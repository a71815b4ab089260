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

// The pyc of `source` from a fresh pool of one worker, after that worker compiled `before`.
std::string compiled_after(const fs::path& python, const fs::path& dir, const std::vector<fs::path>& before,
                           const fs::path& source) {
  auto compiler = Compiler::start(python, 1);
  EXPECT_TRUE(compiler) << compiler.error().message;
  if (!compiler) return {};
  std::vector<CompileJob> first;
  for (const auto& b : before)
    first.push_back({b, b.filename().string(), dir / (b.stem().string() + ".pyc")});
  if (!first.empty()) {
    EXPECT_TRUE((*compiler)->compile(first));
  }
  const fs::path cfile = dir / (source.stem().string() + ".pyc");
  auto written = (*compiler)->compile({{source, "probe.py", cfile}});
  EXPECT_TRUE(written && written->at(0)) << python;
  auto bytes = util::read_file(cfile);
  EXPECT_TRUE(bytes);
  return bytes ? *bytes : std::string();
}

// A pyc does not depend on what its worker compiled before, nor on the worker process (hash seed):
// 3.11 and 3.12 wrote "\xdf" as interned only after a file used the identifier \xdf; 3.9 and 3.10
// also flagged an interned name only once a codec module (loaded for a coding cookie) held it, and
// wrote frozenset constants in the order of each worker's random hash seed.
TEST(Compiler, BytesDoNotDependOnTheWorkersHistory) {
  testing::TempDir tmp;
  const fs::path probe = tmp.path() / "probe.py";
  ASSERT_TRUE(util::write_file_atomic(
      probe,
      "sharp = \"\xc3\x9f\"\nbrace = \"{\"\n"
      "def f(x, decoding_table, encoding_table):\n"
      "    return x in {\"alpha\", \"beta\", \"gamma\", \"delta\", \"epsilon\", \"zeta\"}\n"));
  const fs::path history = tmp.path() / "history.py";  // cp1252: \xdf is sharp s
  ASSERT_TRUE(util::write_file_atomic(history, "# -*- coding: cp1252 -*-\n\xdf = 1\n"));
  int checked = 0;
  for (const fs::path& python : {fs::path(kPython), fs::path("/root/.pyenv/versions/3.9.18/bin/python3"),
                                 fs::path("/root/.pyenv/versions/3.10.13/bin/python3"),
                                 fs::path("/root/.pyenv/versions/3.12.1/bin/python3")}) {
    if (!fs::exists(python)) continue;  // the Debian interpreter is always there
    ++checked;
    const fs::path dir = tmp.path() / std::to_string(checked);
    fs::create_directories(dir / "fresh");
    fs::create_directories(dir / "after");
    const std::string fresh = compiled_after(python, dir / "fresh", {}, probe);
    ASSERT_FALSE(fresh.empty()) << python;
    EXPECT_EQ(compiled_after(python, dir / "after", {history}, probe), fresh) << python;
    for (int i = 0; i < 3; ++i) {  // other workers, other hash seeds
      fs::create_directories(dir / std::to_string(i));
      EXPECT_EQ(compiled_after(python, dir / std::to_string(i), {}, probe), fresh) << python;
    }
  }
  EXPECT_GE(checked, 1);
}

TEST(Compiler, MissingInterpreterIsAnErrorNamingIt) {
  auto compiler = Compiler::start("/nonexistent/strata-python", 1);
  ASSERT_FALSE(compiler);
  EXPECT_NE(compiler.error().message.find("strata-python"), std::string::npos);
}

}  // namespace
}  // namespace strata::wheel
