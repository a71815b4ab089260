#include "oci/layout.hpp"

#include <gtest/gtest.h>

#include "oci/image.hpp"
#include "support/tempdir.hpp"
#include "util/fs.hpp"

namespace strata::oci {
namespace {

TEST(OciLayout, BlobsRoundTripAndMismatchesAreErrors) {
  testing::TempDir tmp;
  auto layout = Layout::create(tmp.path() / "img");
  ASSERT_TRUE(layout) << layout.error().message;
  auto d = layout->write_blob(kOciConfig, "{}");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->digest, "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
  EXPECT_EQ(d->size, 2u);
  EXPECT_EQ(layout->read_blob(d->digest).value_or(""), "{}");
  EXPECT_TRUE(layout->verify_blob(*d));
  ASSERT_TRUE(util::write_file_atomic(layout->blob_path(d->digest), "{ }"));
  auto bad = layout->read_blob(d->digest);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("does not match its digest"), std::string::npos);
  EXPECT_FALSE(layout->verify_blob(*d));
  EXPECT_FALSE(layout->read_blob("md5:abc"));
}

TEST(OciLayout, IndexRoundTripAndOpenChecksTheLayoutFile) {
  testing::TempDir tmp;
  EXPECT_FALSE(Layout::open(tmp.path()));
  auto layout = Layout::create(tmp.path() / "img");
  ASSERT_TRUE(layout);
  Descriptor m{std::string(kOciManifest),
               sha256_digest("x"),
               1,
               Platform{"linux", "arm64", "v8"},
               {{std::string(kRefNameAnnotation), "latest"}}};
  ASSERT_TRUE(layout->write_index({m}));
  auto reopened = Layout::open(tmp.path() / "img");
  ASSERT_TRUE(reopened);
  auto index = reopened->index();
  ASSERT_TRUE(index);
  ASSERT_EQ(index->size(), 1u);
  EXPECT_EQ((*index)[0].digest, m.digest);
  EXPECT_EQ((*index)[0].platform->str(), "linux/arm64/v8");
  EXPECT_EQ((*index)[0].annotations.at(std::string(kRefNameAnnotation)), "latest");
  EXPECT_EQ(util::read_file(tmp.path() / "img" / "oci-layout").value_or(""),
            R"({"imageLayoutVersion":"1.0.0"})");
}

TEST(OciLayout, DescriptorErrorsNameTheField) {
  auto bad = descriptor_from_json({{"mediaType", "x"}, {"digest", "sha256:1234"}, {"size", 1}}, "index.json");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("index.json"), std::string::npos);
  EXPECT_FALSE(descriptor_from_json({{"digest", sha256_digest("")}, {"size", 0}}, "x"));
  EXPECT_FALSE(descriptor_from_json({{"mediaType", "x"}, {"digest", sha256_digest("")}, {"size", -1}}, "x"));
}

TEST(OciLayout, MediaTypes) {
  EXPECT_TRUE(is_layer_type(kDockerLayerGzip));
  EXPECT_EQ(oci_layer_type(kDockerLayerGzip), kOciLayerGzip);
  EXPECT_FALSE(is_layer_type("application/vnd.example.unknown"));
  EXPECT_TRUE(is_index_type(kDockerManifestList));
  EXPECT_TRUE(is_manifest_type(kDockerManifest));
  EXPECT_EQ(parse_platform("linux/amd64").value().architecture, "amd64");
  EXPECT_FALSE(parse_platform("amd64"));
}

TEST(OciImage, DerivedConfigPutsTheVenvFirstAndKeepsTheBase) {
  nlohmann::json base = {{"architecture", "amd64"},
                         {"os", "linux"},
                         {"created", "2024-01-01T00:00:00Z"},
                         {"config",
                          {{"Env", {"PATH=/usr/local/bin:/usr/bin", "LANG=C.UTF-8"}},
                           {"Cmd", {"python3"}},
                           {"Labels", {{"a", "b"}}}}},
                         {"rootfs", {{"type", "layers"}, {"diff_ids", {"sha256:base"}}}},
                         {"history", {{{"created_by", "base"}}}}};
  auto c = derive_config(base, {{"sha256:one", "strata image: venv"}}, "/opt/venv", 0);
  EXPECT_EQ(c["created"], "1970-01-01T00:00:00Z");
  EXPECT_EQ(c["config"]["Env"], nlohmann::json({"PATH=/opt/venv/bin:/usr/local/bin:/usr/bin", "LANG=C.UTF-8",
                                                "VIRTUAL_ENV=/opt/venv"}));
  EXPECT_EQ(c["config"]["Cmd"], nlohmann::json({"python3"}));
  EXPECT_EQ(c["config"]["Labels"]["a"], "b");
  EXPECT_EQ(c["rootfs"]["diff_ids"], nlohmann::json({"sha256:base", "sha256:one"}));
  EXPECT_EQ(c["history"].size(), 2u);
  EXPECT_EQ(c["history"][1]["created_by"], "strata image: venv");
  // Deriving again from the result does not stack PATH entries.
  auto again = derive_config(c, {}, "/opt/venv", 0);
  EXPECT_EQ(again["config"]["Env"][0], "PATH=/opt/venv/bin:/usr/local/bin:/usr/bin");
  EXPECT_EQ(rfc3339(1700000000), "2023-11-14T22:13:20Z");
}

TEST(OciImage, ManifestUsesOciMediaTypes) {
  Descriptor config{std::string(kDockerConfig), sha256_digest("c"), 1, std::nullopt, {}};
  Descriptor layer{std::string(kDockerLayerGzip), sha256_digest("l"), 2, std::nullopt, {}};
  auto m = image_manifest(config, {layer});
  EXPECT_EQ(m["mediaType"], kOciManifest);
  EXPECT_EQ(m["config"]["mediaType"], kOciConfig);
  EXPECT_EQ(m["layers"][0]["mediaType"], kOciLayerGzip);
  EXPECT_EQ(m["layers"][0]["digest"], layer.digest);
  EXPECT_EQ(canonical_json(m).find(' '), std::string::npos);
}

}  // namespace
}  // namespace strata::oci
