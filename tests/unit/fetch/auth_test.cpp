#include "fetch/auth.hpp"

#include <fstream>
#include <map>

#include <gtest/gtest.h>

#include "support/tempdir.hpp"

namespace strata::fetch {
namespace {

EnvLookup fake_env(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(Auth, SourceKeyUpperCasesAndReplacesNonAlphanumerics) {
  EXPECT_EQ(source_env_key("my-private.repo"), "MY_PRIVATE_REPO");
  EXPECT_EQ(source_env_key("Foo2"), "FOO2");
}

TEST(Auth, NetrcMachineBeatsDefault) {
  std::string text =
      "default login anon password none\n"
      "machine other.example login o password op\n"
      "# a comment\n"
      "machine Index.Example\n  login alice\n  password wonder\n";
  auto entry = parse_netrc(text, "index.example");
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->login, "alice");
  EXPECT_EQ(entry->password, "wonder");
  auto fallback = parse_netrc(text, "unknown.example");
  ASSERT_TRUE(fallback);
  EXPECT_EQ(fallback->login, "anon");
  EXPECT_FALSE(parse_netrc("machine a login b password c", "z"));
}

TEST(Auth, UrlUserinfoComesFirst) {
  CredentialResolver resolver(fake_env({{"STRATA_HTTP_BASIC_PRIV_USERNAME", "env-user"}}));
  auto creds = resolver.for_source("priv", "https://u:p@index.example/simple/");
  ASSERT_TRUE(creds);
  ASSERT_TRUE(*creds);
  EXPECT_EQ((*creds)->username, "u");
  EXPECT_EQ((*creds)->origin, "the index URL's userinfo");
}

TEST(Auth, StrataVariablesBeatPoetryVariables) {
  CredentialResolver resolver(fake_env({{"STRATA_HTTP_BASIC_MY_REPO_USERNAME", "s-user"},
                                        {"STRATA_HTTP_BASIC_MY_REPO_PASSWORD", "s-pass"},
                                        {"POETRY_HTTP_BASIC_MY_REPO_USERNAME", "p-user"},
                                        {"POETRY_HTTP_BASIC_MY_REPO_PASSWORD", "p-pass"}}));
  auto creds = resolver.for_source("my-repo", "https://index.example/simple/");
  ASSERT_TRUE(creds && *creds);
  EXPECT_EQ((*creds)->username, "s-user");
  EXPECT_EQ((*creds)->password, "s-pass");
  EXPECT_EQ((*creds)->origin, "STRATA_HTTP_BASIC_MY_REPO_USERNAME/_PASSWORD");
  EXPECT_EQ((*creds)->origin.find("s-pass"), std::string::npos);
}

TEST(Auth, PoetryVariablesAndFileVariantStripOneNewline) {
  testing::TempDir dir;
  auto secret = dir.path() / "secret";
  std::ofstream(secret) << "file-pass\n";
  CredentialResolver resolver(fake_env({{"POETRY_HTTP_BASIC_PRIV_USERNAME", "p-user"},
                                        {"POETRY_HTTP_BASIC_PRIV_PASSWORD_FILE", secret.string()}}));
  auto creds = resolver.for_source("priv", "https://index.example/simple/");
  ASSERT_TRUE(creds && *creds);
  EXPECT_EQ((*creds)->username, "p-user");
  EXPECT_EQ((*creds)->password, "file-pass");
  EXPECT_EQ((*creds)->origin, "POETRY_HTTP_BASIC_PRIV_USERNAME/_PASSWORD");
}

TEST(Auth, UnreadableSecretFileIsAnErrorNamingTheVariable) {
  CredentialResolver resolver(fake_env({{"STRATA_HTTP_BASIC_PRIV_USERNAME", "u"},
                                        {"STRATA_HTTP_BASIC_PRIV_PASSWORD_FILE", "/nonexistent/secret"}}));
  auto creds = resolver.for_source("priv", "https://index.example/simple/");
  ASSERT_FALSE(creds);
  EXPECT_NE(creds.error().message.find("STRATA_HTTP_BASIC_PRIV_PASSWORD_FILE"), std::string::npos);
  EXPECT_NE(creds.error().message.find("/nonexistent/secret"), std::string::npos);
}

TEST(Auth, NetrcFromTheNetrcVariable) {
  testing::TempDir dir;
  auto netrc = dir.path() / "netrc";
  std::ofstream(netrc) << "machine 127.0.0.1 login n-user password n-pass\n";
  CredentialResolver resolver(fake_env({{"NETRC", netrc.string()}}));
  auto creds = resolver.for_source("priv", "http://127.0.0.1:8080/simple/");
  ASSERT_TRUE(creds && *creds);
  EXPECT_EQ((*creds)->username, "n-user");
  EXPECT_EQ((*creds)->origin, "netrc (" + netrc.string() + ")");
}

TEST(Auth, FileOnAnotherHostDoesNotGetTheIndexCredentials) {
  CredentialResolver resolver(
      fake_env({{"STRATA_HTTP_BASIC_PRIV_USERNAME", "u"}, {"STRATA_HTTP_BASIC_PRIV_PASSWORD", "p"}}));
  auto same = resolver.for_file("https://index.example/files/a.whl", "priv", "https://index.example/simple/");
  ASSERT_TRUE(same && *same);
  auto other = resolver.for_file("https://cdn.example/files/a.whl", "priv", "https://index.example/simple/");
  ASSERT_TRUE(other);
  EXPECT_FALSE(*other);
}

TEST(Auth, HintNamesVariablesButNoSecret) {
  CredentialResolver resolver(
      fake_env({{"STRATA_HTTP_BASIC_PRIV_PASSWORD", "hunter2"}, {"HOME", "/home/x"}}));
  std::string hint = resolver.hint("priv", "https://u:hunter2@index.example/simple/");
  EXPECT_NE(hint.find("STRATA_HTTP_BASIC_PRIV_USERNAME"), std::string::npos);
  EXPECT_NE(hint.find("POETRY_HTTP_BASIC_PRIV_USERNAME"), std::string::npos);
  EXPECT_NE(hint.find("_FILE"), std::string::npos);
  EXPECT_NE(hint.find("/home/x/.netrc"), std::string::npos);
  EXPECT_EQ(hint.find("hunter2"), std::string::npos);
}

}  // namespace
}  // namespace strata::fetch
