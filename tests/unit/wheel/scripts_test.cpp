#include "wheel/scripts.hpp"

#include <gtest/gtest.h>

namespace strata::wheel {
namespace {

TEST(EntryPoints, ParsesConsoleAndGuiScripts) {
  auto eps = parse_entry_points(
      "[console_scripts]\nfoo = foo.cli:main\nbar=bar.mod:Obj.run [extra1]\n\n[gui_scripts]\ngfoo = "
      "foo.gui:start\n"
      "[other]\nignored = x:y\n",
      "entry_points.txt");
  ASSERT_TRUE(eps) << eps.error().message;
  ASSERT_EQ(eps->size(), 3u);
  EXPECT_EQ((*eps)[0].name, "foo");
  EXPECT_EQ((*eps)[0].module, "foo.cli");
  EXPECT_EQ((*eps)[0].attr, "main");
  EXPECT_EQ((*eps)[1].attr, "Obj.run");
  EXPECT_TRUE((*eps)[2].gui);
}

TEST(EntryPoints, RefusesUnsafeNamesAndReferences) {
  auto eps = parse_entry_points("[console_scripts]\n../evil = foo:main\n", "ep.txt");
  ASSERT_FALSE(eps);
  EXPECT_NE(eps.error().message.find("ep.txt:2: refusing entry point script name \"../evil\""),
            std::string::npos);
  eps = parse_entry_points("[console_scripts]\nx = os; os.system('rm'):main\n", "ep.txt");
  ASSERT_FALSE(eps);
  EXPECT_NE(eps.error().message.find("invalid object reference"), std::string::npos);
}

TEST(Shebang, PlainTrampolineForSpacesAndLength) {
  EXPECT_EQ(shebang_for("/opt/venv/bin/python"), "#!/opt/venv/bin/python\n");
  EXPECT_EQ(shebang_for("/path with space/python"),
            "#!/bin/sh\n'''exec' \"/path with space/python\" \"$0\" \"$@\"\n' '''\n");
  std::string at_limit = "/" + std::string(123, 'a');  // "#!" + 124 + "\n" = 127 bytes
  EXPECT_EQ(shebang_for(at_limit), "#!" + at_limit + "\n");
  std::string over = "/" + std::string(124, 'a');
  EXPECT_EQ(shebang_for(over), "#!/bin/sh\n'''exec' " + over + " \"$0\" \"$@\"\n' '''\n");
}

TEST(Launcher, MatchesPipTemplate) {
  EntryPoint ep{"bar", "bar.mod", "Obj.run", false};
  EXPECT_EQ(launcher_script(ep, "/v/bin/python"),
            "#!/v/bin/python\n"
            "# -*- coding: utf-8 -*-\n"
            "import re\n"
            "import sys\n"
            "from bar.mod import Obj\n"
            "if __name__ == '__main__':\n"
            "    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])\n"
            "    sys.exit(Obj.run())\n");
}

TEST(RewriteShebang, OnlyHashBangPython) {
  EXPECT_EQ(rewrite_python_shebang("#!python\nprint(1)\n", "/v/bin/python"), "#!/v/bin/python\nprint(1)\n");
  EXPECT_EQ(rewrite_python_shebang("#!pythonw -u\nx\n", "/v/bin/python"), "#!/v/bin/python\nx\n");
  EXPECT_EQ(rewrite_python_shebang("#!/bin/sh\necho\n", "/v/bin/python"), std::nullopt);
  EXPECT_EQ(rewrite_python_shebang("#!python\nx\n", "/a b/python"),
            "#!/bin/sh\n'''exec' \"/a b/python\" \"$0\" \"$@\"\n' '''\nx\n");
}

}  // namespace
}  // namespace strata::wheel
