#include "util/process.hpp"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace strata::util
