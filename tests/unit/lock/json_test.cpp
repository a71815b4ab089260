// The lock model's JSON view: what `install --json` prints as its selection.

#include "lock/json.hpp"

#include <gtest/gtest.h>

namespace strata::lock {
namespace {

TEST(LockJson, UrlsAreRedacted) {
  Package p;
  p.name = p.display_name = "six";
  p.version_text = "1.16.0";
  p.source.kind = SourceKind::index;
  p.source.name = "private";
  p.source.url = "https://reader:hunter2@pkgs.example/simple/";
  Artifact a;
  a.filename = "six-1.16.0-py2.py3-none-any.whl";
  a.url = "https://reader:hunter2@pkgs.example/files/six-1.16.0-py2.py3-none-any.whl?token=t0k";
  p.artifacts.push_back(a);

  const nlohmann::json j = to_json(p);
  EXPECT_EQ(j["source"]["url"], "https://***@pkgs.example/simple/");
  EXPECT_EQ(j["artifacts"][0]["url"],
            "https://***@pkgs.example/files/six-1.16.0-py2.py3-none-any.whl?token=***");
  EXPECT_EQ(j.dump().find("hunter2"), std::string::npos);
  EXPECT_EQ(j.dump().find("t0k"), std::string::npos);
}

}  // namespace
}  // namespace strata::lock
