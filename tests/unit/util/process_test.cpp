#include "util/process.hpp"

#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "support/tempdir.hpp"
#include "util/fs.hpp"

namespace strata::util {
namespace {

TEST(Process, CapturesStdoutStderrAndExitCode) {
  auto r = run_process({"sh", "-c", "cat; echo err >&2; exit 3"}, "hello");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->out, "hello");
  EXPECT_EQ(r->err, "err\n");
  EXPECT_EQ(r->exit_code, 3);
}

TEST(Process, MissingProgramIsAnErrorNamingIt) {
  auto r = run_process({"/nonexistent/strata-no-such-program"});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("strata-no-such-program"), std::string::npos);
}

TEST(Process, LargeOutputDoesNotDeadlock) {
  auto r = run_process({"sh", "-c", "head -c 1000000 /dev/zero; head -c 300000 /dev/zero >&2"});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->out.size(), 1000000u);
  EXPECT_EQ(r->err.size(), 300000u);
}

TEST(LoggedProcess, WritesOutputToTheLogWithTheGivenEnvironmentAndDirectory) {
  testing::TempDir tmp;
  LoggedProcess p;
  p.argv = {"/bin/sh", "-c", "echo out $ONLY; pwd; echo err >&2; exit 4"};
  p.env = std::vector<std::string>{"ONLY=given", "PATH=/usr/bin:/bin"};
  p.cwd = tmp.path();
  p.log = tmp.path() / "log.txt";
  auto r = run_logged(p);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->exit_code, 4);
  EXPECT_FALSE(r->timed_out);
  auto log = read_file(p.log);
  ASSERT_TRUE(log);
  EXPECT_EQ(*log, "out given\n" + tmp.path().string() + "\nerr\n");
}

TEST(LoggedProcess, TimeoutKillsTheWholeGroup) {
  testing::TempDir tmp;
  LoggedProcess p;
  // The grandchild would write the marker after 2 s if it survived its parent's kill.
  p.argv = {"/bin/sh", "-c", "(sleep 2; echo alive > " + (tmp.path() / "marker").string() + ") & sleep 30"};
  p.log = tmp.path() / "log.txt";
  p.timeout = std::chrono::milliseconds(300);
  auto start = std::chrono::steady_clock::now();
  auto r = run_logged(p);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->timed_out);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  EXPECT_FALSE(std::filesystem::exists(tmp.path() / "marker"));
}

TEST(Child, AnswersSeveralRequestsOverOneProcess) {
  // Echoes each NUL-terminated field back in upper case, one reply per request.
  auto child =
      Child::spawn({"python3", "-c",
                    "import sys\n"
                    "for line in iter(sys.stdin.buffer.readline, b''):\n"
                    "    sys.stdout.buffer.write(line.strip().upper() + b'\\0'); sys.stdout.flush()\n"});
  ASSERT_TRUE(child) << child.error().message;
  for (std::string word : {"one", "two"}) {
    ASSERT_TRUE(child->write(word + "\n"));
    auto fields = child->read_fields(1);
    ASSERT_TRUE(fields) << fields.error().message;
    ASSERT_EQ(fields->size(), 1u);
    EXPECT_EQ((*fields)[0], word == "one" ? "ONE" : "TWO");
  }
}

TEST(Child, ExitedChildIsAnErrorNotASignal) {
  auto child = Child::spawn({"true"});
  ASSERT_TRUE(child);
  auto fields = child->read_fields(1);
  ASSERT_FALSE(fields);
  EXPECT_NE(fields.error().message.find("stopped answering"), std::string::npos);
  // Writing to a process that exited fails with EPIPE instead of killing us with SIGPIPE.
  std::string big(1 << 20, 'x');
  EXPECT_FALSE(child->write(big));
}

}  // namespace
}  // namespace strata::util
