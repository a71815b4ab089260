// lock/constraint_lint: caret and tilde constraints in pyproject.toml, with positions and the
// PEP 440 spelling to use instead.

#include <gtest/gtest.h>

#include "lock/constraint_lint.hpp"

namespace strata::lock {
namespace {

constexpr std::string_view kPyproject = R"([tool.poetry]
name = "app"

[tool.poetry.dependencies]
python = "^3.11"
requests = "^2.31.0"
click = "~8.1"
attrs = ">=23,<24"
rich = "~=13.0"
httpx = { version = "^0.27", extras = ["http2"] }

[tool.poetry.group.dev.dependencies]
pytest = "~8.3.2"
)";

TEST(ConstraintLint, FindsCaretAndTildeWithPositionsAndSpellings) {
  auto lints = lint_constraints(kPyproject, "pyproject.toml");
  ASSERT_TRUE(lints) << lints.error().message;
  ASSERT_EQ(lints->size(), 4u);
  EXPECT_EQ((*lints)[0].where, "pyproject.toml:6:12");
  EXPECT_EQ((*lints)[0].dependency, "requests");
  EXPECT_EQ((*lints)[0].constraint, "^2.31.0");
  EXPECT_EQ((*lints)[0].suggestion, ">=2.31.0,<3.0.0");
  EXPECT_EQ((*lints)[1].where, "pyproject.toml:7:9");
  EXPECT_EQ((*lints)[1].suggestion, ">=8.1,<8.2");
  EXPECT_EQ((*lints)[2].where, "pyproject.toml:10:21");  // the table's "version" value
  EXPECT_EQ((*lints)[2].dependency, "httpx");
  EXPECT_EQ((*lints)[2].suggestion, ">=0.27,<0.28");
  EXPECT_EQ((*lints)[3].where, "pyproject.toml:13:10");
  EXPECT_EQ((*lints)[3].suggestion, ">=8.3.2,<8.4.0");
  EXPECT_NE((*lints)[0].message().find("write \">=2.31.0,<3.0.0\" instead"), std::string::npos);
}

TEST(ConstraintLint, PythonPep440AndNoPoetryTablesAreNotReported) {
  auto lints = lint_constraints("[project]\nname = \"x\"\ndependencies = [\"a>=1\"]\n", "p.toml");
  ASSERT_TRUE(lints);
  EXPECT_TRUE(lints->empty());
}

TEST(ConstraintLint, MalformedTomlNamesThePosition) {
  auto lints = lint_constraints("[tool.poetry\n", "pyproject.toml");
  ASSERT_FALSE(lints);
  EXPECT_NE(lints.error().message.find("pyproject.toml:1:"), std::string::npos);
}

}  // namespace
}  // namespace strata::lock
