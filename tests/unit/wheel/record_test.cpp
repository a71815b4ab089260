#include "wheel/record.hpp"

#include <gtest/gtest.h>

namespace strata::wheel {
namespace {

TEST(Record, Base64UrlWithoutPadding) {
  EXPECT_EQ(base64url_nopad(""), "");
  EXPECT_EQ(base64url_nopad("f"), "Zg");
  EXPECT_EQ(base64url_nopad("fo"), "Zm8");
  EXPECT_EQ(base64url_nopad("foo"), "Zm9v");
  EXPECT_EQ(base64url_nopad("\xfb\xff"), "-_8");
}

TEST(Record, HashesLikeHashlib) {
  Hasher empty;
  EXPECT_EQ(empty.finish(), "sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU");
  Hasher chunks;
  chunks.update("hello ");
  chunks.update("world");
  // python3 -c "import hashlib,base64;print(base64.urlsafe_b64encode(hashlib.sha256(b'hello
  // world').digest()))"
  EXPECT_EQ(chunks.finish(), "sha256=uU0nuZNNPgilLlLX2n2r-sSE7-N6U4DukIj3rOLvzek");
  EXPECT_FALSE(Hasher("no-such-hash").valid());
}

TEST(Record, ParsesCsvWithQuotes) {
  auto rows = parse_record("a/b.py,sha256=x,12\n\"we,ird\"\"name\",,\r\nc/RECORD,,\n", "RECORD");
  ASSERT_TRUE(rows) << rows.error().message;
  ASSERT_EQ(rows->size(), 3u);
  EXPECT_EQ((*rows)[0], (RecordRow{"a/b.py", "sha256=x", 12}));
  EXPECT_EQ((*rows)[1], (RecordRow{"we,ird\"name", "", std::nullopt}));
  EXPECT_EQ((*rows)[2].path, "c/RECORD");
}

TEST(Record, RefusesMalformedRows) {
  auto rows = parse_record("a.py,sha256=x\n", "demo/RECORD");
  ASSERT_FALSE(rows);
  EXPECT_EQ(rows.error().message, "demo/RECORD:1: expected 3 fields (path,hash,size), found 2");
  rows = parse_record("a.py,,12\nb.py,,x1\n", "RECORD");
  ASSERT_FALSE(rows);
  EXPECT_NE(rows.error().message.find("RECORD:2: invalid size"), std::string::npos);
}

TEST(Record, FormatsSortedAndQuoted) {
  std::string text =
      format_record({{"z.py", "sha256=b", 2}, {"a,b.py", "sha256=a", 1}, {"d/RECORD", "", std::nullopt}});
  EXPECT_EQ(text, "\"a,b.py\",sha256=a,1\nd/RECORD,,\nz.py,sha256=b,2\n");
  auto back = parse_record(text, "RECORD");
  ASSERT_TRUE(back);
  EXPECT_EQ((*back)[0].path, "a,b.py");
}

}  // namespace
}  // namespace strata::wheel
