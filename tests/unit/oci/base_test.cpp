#include "oci/base.hpp"

#include <gtest/gtest.h>

namespace strata::oci {
namespace {

BaseNode file(std::string content) {
  BaseNode n;
  n.type = BaseNode::Type::file;
  n.content = std::move(content);
  return n;
}
BaseNode dir() {
  BaseNode n;
  n.type = BaseNode::Type::directory;
  return n;
}
BaseNode link(std::string to) {
  BaseNode n;
  n.type = BaseNode::Type::symlink;
  n.link = std::move(to);
  return n;
}

TEST(OciBase, ParsesBaseSpecs) {
  auto layout = parse_base_spec("oci:/tmp/img:3.11");
  ASSERT_TRUE(layout);
  EXPECT_EQ(layout->kind, BaseSpec::Kind::layout);
  EXPECT_EQ(layout->location, "/tmp/img");
  EXPECT_EQ(layout->tag, "3.11");
  auto untagged = parse_base_spec("oci-archive:/a:b/base.tar");
  ASSERT_TRUE(untagged);
  EXPECT_EQ(untagged->kind, BaseSpec::Kind::archive);
  EXPECT_EQ(untagged->location, "/a:b/base.tar");
  EXPECT_EQ(untagged->tag, "");
  EXPECT_EQ(parse_base_spec("127.0.0.1:5000/py:3.11")->kind, BaseSpec::Kind::registry);
  EXPECT_FALSE(parse_base_spec("oci:"));
}

TEST(OciBase, ResolvesSymlinksOfParentsToo) {
  BaseFiles f;
  f.nodes = {
      {"lib", link("usr/lib")},           {"usr", dir()},        {"usr/lib", dir()},
      {"usr/lib/libc.so.6", file("x")},   {"usr/bin", dir()},    {"usr/bin/python3", link("python3.11")},
      {"usr/bin/python3.11", file("py")}, {"loop", link("loop")}};
  EXPECT_EQ(f.resolve("lib/libc.so.6").value_or("?"), "usr/lib/libc.so.6");
  EXPECT_EQ(f.resolve("/usr/bin/python3").value_or("?"), "usr/bin/python3.11");
  EXPECT_EQ(f.resolve("usr/lib/../bin/python3").value_or("?"), "usr/bin/python3.11");
  EXPECT_FALSE(f.resolve("loop"));
  EXPECT_FALSE(f.resolve("usr/nothing"));
  ASSERT_NE(f.find("lib/libc.so.6"), nullptr);
}

TEST(OciBase, ParsesSysconfigdata) {
  auto vars = parse_sysconfigdata(
      "# system configuration generated and used by the sysconfig module\nbuild_time_vars = {'ABIFLAGS': "
      "'',\n"
      " 'EXT_SUFFIX': '.cpython-311-x86_64-linux-gnu.so',\n 'Py_DEBUG': 0,\n 'SOABI': "
      "'cpython-311-x86_64-linux-gnu',\n"
      " 'WITH_PYMALLOC': 1,\n 'py_version_nodot': '311'}\n");
  EXPECT_EQ(vars["SOABI"], "cpython-311-x86_64-linux-gnu");
  EXPECT_EQ(vars["EXT_SUFFIX"], ".cpython-311-x86_64-linux-gnu.so");
  EXPECT_EQ(vars["Py_DEBUG"], "0");
  EXPECT_EQ(vars["WITH_PYMALLOC"], "1");
  EXPECT_EQ(vars["ABIFLAGS"], "");
}

TEST(OciBase, WantsOnlyWhatTheTargetIsReadFrom) {
  EXPECT_TRUE(wanted_for_target("usr/bin/python3.11", "/opt/venv"));
  EXPECT_TRUE(wanted_for_target("usr/local/lib/libpython3.12.so.1.0", "/opt/venv"));
  EXPECT_TRUE(wanted_for_target("usr/lib/x86_64-linux-gnu/libc.so.6", "/opt/venv"));
  EXPECT_TRUE(wanted_for_target("lib/ld-musl-x86_64.so.1", "/opt/venv"));
  EXPECT_TRUE(wanted_for_target("usr/lib/python3.11/_sysconfigdata__x86_64-linux-gnu.py", "/opt/venv"));
  EXPECT_TRUE(
      wanted_for_target("opt/venv/lib/python3.11/site-packages/six-1.16.0.dist-info/METADATA", "/opt/venv"));
  EXPECT_FALSE(wanted_for_target("opt/venv/lib/python3.11/site-packages/six.py", "/opt/venv"));
  EXPECT_FALSE(wanted_for_target("usr/lib/python3.11/os.py", "/opt/venv"));
  EXPECT_FALSE(wanted_for_target("usr/bin/perl", "/opt/venv"));
}

TEST(OciBase, ReadsTheTargetFromTheFiles) {
  BaseImage base;
  base.name = "oci:test";
  BaseFiles f;
  f.nodes = {{"usr/bin/python3", link("python3.11")},
             {"usr/bin/python3.11", file(std::string("junk\0"
                                                     "3.11.2\0"
                                                     "more",
                                                     16))},
             {"usr/lib/x86_64-linux-gnu/libc.so.6",
              file("GNU C Library (Debian GLIBC 2.36-9) stable release version 2.36.")},
             {"usr/lib/python3.11/_sysconfigdata__x86_64-linux-gnu.py",
              file("{'SOABI': 'cpython-311-x86_64-linux-gnu'}")},
             {"usr/lib/python3.11/venv/scripts/common/activate", file("VIRTUAL_ENV=__VENV_DIR__")}};
  auto t = read_target(f, base);
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t->python, "/usr/bin/python3.11");
  EXPECT_EQ(t->minor, 11);
  EXPECT_EQ(t->full_version, "3.11.2");
  EXPECT_EQ(t->prefix, "/usr");
  EXPECT_EQ(t->stdlib, "/usr/lib/python3.11");
  ASSERT_TRUE(t->glibc);
  EXPECT_EQ(*t->glibc, (std::pair{2, 36}));
  EXPECT_EQ(t->sysconfig["SOABI"], "cpython-311-x86_64-linux-gnu");
  EXPECT_EQ(t->activate_template.value_or(""), "VIRTUAL_ENV=__VENV_DIR__");

  BaseFiles none;
  none.nodes = {{"usr/bin/perl", file("")}};
  auto missing = read_target(none, base);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("no Python 3 interpreter"), std::string::npos);
  EXPECT_NE(missing.error().message.find("oci:test"), std::string::npos);
}

}  // namespace
}  // namespace strata::oci
