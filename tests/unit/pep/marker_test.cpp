// Hand-written marker cases; expected answers were computed with the pinned packaging 26.3.

#include "pep/marker.hpp"

#include <gtest/gtest.h>

#include <string>

namespace strata::pep {
namespace {

MarkerEnvironment linux_38() {
  return {
      {"implementation_name", "cpython"},
      {"implementation_version", "3.8.5"},
      {"os_name", "posix"},
      {"platform_machine", "x86_64"},
      {"platform_release", "5.15.0-91-generic"},
      {"platform_system", "Linux"},
      {"platform_version", "#1 SMP"},
      {"python_full_version", "3.8.5"},
      {"platform_python_implementation", "CPython"},
      {"python_version", "3.8"},
      {"sys_platform", "linux"},
  };
}

// Evaluates `text` in linux_38() with `overrides`; "error" when packaging would raise.
std::string eval(const std::string& text, const MarkerEnvironment& overrides = {},
                 const std::string& extra = "") {
  auto marker = Marker::parse(text);
  if (!marker) return "parse error: " + marker.error().message;
  MarkerEnvironment env = linux_38();
  for (const auto& [key, value] : overrides) env[key] = value;
  MarkerContext context;
  context.environment = &env;
  context.extra = extra;
  auto result = marker->try_evaluate(context);
  if (!result) return "error";
  return *result ? "true" : "false";
}

TEST(Marker, VersionComparisonsUseTheVersionNotTheText) {
  // python_version is "3.8" although the full version is 3.8.5: "3.8" > "3.8" is false.
  EXPECT_EQ(eval(R"(python_version > "3.8")"), "false");
  EXPECT_EQ(eval(R"(python_full_version > "3.8")"), "true");
  EXPECT_EQ(eval(R"(python_version > "3.8")", {{"python_version", "3.8.5"}}), "true");
  // As strings "3.9" >= "3.10" would hold; as versions it does not.
  EXPECT_EQ(eval(R"(python_version >= "3.10")", {{"python_version", "3.9"}}), "false");
  EXPECT_EQ(eval(R"(python_version >= "3.10")", {{"python_version", "3.10"}}), "true");
  EXPECT_EQ(eval(R"(python_version > "3.9")", {{"python_version", "3.10"}}), "true");
  EXPECT_EQ(eval(R"(python_version == "3.*")"), "true");
  EXPECT_EQ(eval(R"(python_version === "3.8")"), "true");
  EXPECT_EQ(eval(R"(implementation_version >= "3.8.5")"), "true");
}

TEST(Marker, NonPep440PlatformReleaseFallsBackOrFails) {
  // A valid specifier never matches an unparsable version...
  EXPECT_EQ(eval(R"(platform_release >= "5.15")"), "false");
  EXPECT_EQ(eval(R"(platform_release < "6")"), "false");
  EXPECT_EQ(eval(R"(platform_release >= "6")", {{"platform_release", "NT"}}), "false");
  // ...while an invalid specifier falls back to comparing strings.
  EXPECT_EQ(eval(R"(platform_release == "5.15.0-91-generic")"), "true");
  EXPECT_EQ(eval(R"(platform_release != "5.15.0-91-generic")"), "false");
  EXPECT_EQ(eval(R"(python_version ~= "3")"), "error");
}

TEST(Marker, StringOperators) {
  EXPECT_EQ(eval(R"("linux" in sys_platform)"), "true");
  EXPECT_EQ(eval(R"("linux" in sys_platform)", {{"sys_platform", "linux2"}}), "true");
  EXPECT_EQ(eval(R"("lin" in sys_platform)"), "true");
  EXPECT_EQ(eval(R"("win" not in sys_platform)"), "true");
  EXPECT_EQ(eval(R"(os_name <= "posix")"), "true");
  EXPECT_EQ(eval(R"(os_name >= "posix")"), "true");
  EXPECT_EQ(eval(R"(os_name < "zzz")"), "false");
  EXPECT_EQ(eval(R"(os_name > "a")"), "false");
  EXPECT_EQ(eval(R"(os_name ~= "posix")"), "error");
  EXPECT_EQ(eval(R"(os_name === "posix")"), "error");
}

TEST(Marker, LegacyVariableNames) {
  EXPECT_EQ(eval(R"(os.name == "posix")"), "true");
  EXPECT_EQ(eval(R"(sys.platform == "linux")"), "true");
  EXPECT_EQ(eval(R"(platform.machine == "x86_64")"), "true");
  EXPECT_EQ(eval(R"(platform.python_implementation == "CPython")"), "true");
  EXPECT_EQ(eval(R"(python_implementation == "CPython")"), "true");
  EXPECT_EQ(Marker::parse(R"(python_implementation=="CPython")")->str(),
            R"(platform_python_implementation == "CPython")");
  // packaging accepts no dotted spelling of platform_release or platform_system.
  EXPECT_FALSE(Marker::parse(R"(platform.release == "x")"));
  EXPECT_FALSE(Marker::parse(R"(platform.system == "x")"));
}

TEST(Marker, ExtraIsComparedAsANormalizedName) {
  EXPECT_EQ(eval(R"(extra == "Foo_Bar")", {}, "foo-bar"), "true");
  EXPECT_EQ(eval(R"(extra == "Foo_Bar")", {}, "FOO.bar"), "true");
  EXPECT_EQ(eval(R"("foo.bar" == extra)", {}, "Foo_Bar"), "true");
  EXPECT_EQ(eval(R"(extra == "Foo_Bar")", {}, "foo"), "false");
  EXPECT_EQ(eval(R"(extra == "Foo_Bar")"), "false");
  EXPECT_EQ(Marker::parse("extra == 'Foo_Bar'")->str(), R"(extra == "foo-bar")");
}

TEST(Marker, SetVariablesOfLockFiles) {
  MarkerEnvironment env = linux_38();
  MarkerContext context;
  context.environment = &env;
  context.extras = {"foo"};
  context.dependency_groups = {"foo-baz"};
  auto check = [&](const std::string& text) -> std::string {
    auto marker = Marker::parse(text);
    if (!marker) return "parse error";
    auto result = marker->try_evaluate(context);
    if (!result) return "error";
    return *result ? "true" : "false";
  };
  EXPECT_EQ(check(R"("Foo" in extras)"), "true");
  EXPECT_EQ(check(R"("bar" in extras)"), "false");
  EXPECT_EQ(check(R"("Foo.Baz" not in dependency_groups)"), "false");
  EXPECT_EQ(check(R"("Foo.Baz" in dependency_groups)"), "true");
  // A set on the left-hand side is an undefined comparison.
  EXPECT_EQ(check(R"(extras == "foo")"), "error");
  EXPECT_EQ(Marker::parse(R"("Foo" in extras)")->str(), R"("foo" in extras)");
}

TEST(Marker, AndBindsTighterThanOr) {
  EXPECT_EQ(eval(R"(python_version < "3.9" or os_name == "nt" and sys_platform == "win32")"), "true");
  EXPECT_EQ(eval(R"((python_version < "3.9" or os_name == "nt") and sys_platform == "win32")"), "false");
  EXPECT_EQ(eval(R"(os_name == "nt" and sys_platform == "linux" or python_version >= "3")"), "true");
}

TEST(Marker, LiteralOnBothSidesLooksUpTheRightOne) {
  // packaging reads the right-hand literal as the variable name.
  EXPECT_EQ(eval(R"("3.8" == "python_version")"), "true");
  EXPECT_EQ(eval(R"("x" == "y")"), "error");
}

TEST(Marker, UntaggedPythonBuildIsRepaired) {
  EXPECT_EQ(eval(R"(python_full_version == "3.12.1+local")", {{"python_full_version", "3.12.1+"}}), "true");
}

TEST(Marker, MissingVariableFailsAndEvaluateSaysFalse) {
  MarkerEnvironment env = {{"python_full_version", "3.11.4"}};
  MarkerContext context;
  context.environment = &env;
  auto marker = Marker::parse(R"(os_name == "posix" or python_full_version >= "3")");
  ASSERT_TRUE(marker);
  auto result = marker->try_evaluate(context);
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().message.find("os_name"), std::string::npos);
  EXPECT_FALSE(marker->evaluate(context));
}

TEST(Marker, StrNormalizesAsPackaging) {
  EXPECT_EQ(Marker::parse(R"(python_version>"3.8")")->str(), R"(python_version > "3.8")");
  EXPECT_EQ(Marker::parse("os.name=='posix'")->str(), R"(os_name == "posix")");
  EXPECT_EQ(Marker::parse(R"((os_name=="a"))")->str(), R"(os_name == "a")");
  EXPECT_EQ(Marker::parse(R"(((os_name=="a" or os_name=="b")))")->str(),
            R"(os_name == "a" or os_name == "b")");
  EXPECT_EQ(Marker::parse(R"(os_name=="a" or (os_name=="b" and (os_name=="c")))")->str(),
            R"(os_name == "a" or (os_name == "b" and os_name == "c"))");
  EXPECT_EQ(Marker::parse(R"(os_name == 'say "hi"')")->str(), R"(os_name == 'say "hi"')");
  EXPECT_EQ(Marker::parse(R"(os_name == "\x70osix")")->str(), R"(os_name == "posix")");
  EXPECT_EQ(Marker::parse("os_name\tnot\tin 'a'")->str(), R"(os_name not in "a")");
}

TEST(Marker, MalformedMarkersAreRejectedWithTheColumn) {
  auto expect_error = [](const std::string& text, const std::string& message) {
    auto marker = Marker::parse(text);
    ASSERT_FALSE(marker) << text;
    EXPECT_EQ(marker.error().kind, ErrorKind::usage);
    EXPECT_EQ(marker.error().message, message) << text;
  };
  expect_error(R"(python_version = "3.8")",
               "Expected marker operator, one of <=, <, !=, ==, >=, >, ~=, ===, in, not in\n"
               "    python_version = \"3.8\"\n"
               "                   ^");
  expect_error(R"(python_version == "3.8" and)",
               "Expected a marker variable or quoted string\n"
               "    python_version == \"3.8\" and\n"
               "                               ^");
  expect_error(R"((os_name == "a")",
               "Expected matching RIGHT_PARENTHESIS for LEFT_PARENTHESIS, after marker expression\n"
               "    (os_name == \"a\"\n"
               "    ~~~~~~~~~~~~~~~^");
  expect_error(R"(os_name == "a\x4")",
               "Invalid quoted string\n"
               "    os_name == \"a\\x4\"\n"
               "               ~~~~~~^");
  expect_error("", "Expected a marker variable or quoted string\n    \n    ^");
  for (const char* bad : {"os_name notin 'a'", "os_name == posix", "os_name == 'a' && os_name == 'b'",
                          "os_name == 'a' AND os_name == 'b'", "python_versions == '3'", "os_name == 'a\nb'",
                          "os_nameé == 'a'", "(os_name == 'a'))", "()"}) {
    EXPECT_FALSE(Marker::parse(bad)) << bad;
  }
}

}  // namespace
}  // namespace strata::pep
