#include "env/venv.hpp"

#include <gtest/gtest.h>

#include "support/tempdir.hpp"
#include "util/fs.hpp"

namespace strata::env {
namespace {
namespace fs = std::filesystem;

// A base interpreter as the probe would report it; nothing is run, so it need not exist.
Interpreter fake_base(int minor, const fs::path& stdlib = {}) {
  Interpreter base;
  base.executable = "/opt/py/bin/python3";
  base.real_executable = "/opt/py/bin/python3." + std::to_string(minor);
  base.major = 3;
  base.minor = minor;
  base.micro = 4;
  base.version = "3." + std::to_string(minor) + ".4";
  base.prefix = base.base_prefix = "/opt/py";
  if (!stdlib.empty()) base.paths["stdlib"] = stdlib.string();
  return base;
}

TEST(Venv, LaysOutLikePythonMVenv) {
  testing::TempDir tmp;
  auto venv = create_venv(tmp.path() / "v", fake_base(11));
  ASSERT_TRUE(venv) << venv.error().message;
  const fs::path dir = tmp.path() / "v";
  EXPECT_TRUE(venv->created);
  EXPECT_EQ(venv->python, dir / "bin/python");
  EXPECT_EQ(*util::read_file(dir / "pyvenv.cfg"),
            "home = /opt/py/bin\ninclude-system-site-packages = false\nversion = 3.11.4\n"
            "executable = /opt/py/bin/python3.11\ncommand = /opt/py/bin/python3 -m venv " +
                dir.string() + "\n");
  EXPECT_EQ(fs::read_symlink(dir / "bin/python3"), "/opt/py/bin/python3");
  EXPECT_EQ(fs::read_symlink(dir / "bin/python"), "python3");
  EXPECT_EQ(fs::read_symlink(dir / "bin/python3.11"), "python3");
  EXPECT_EQ(fs::read_symlink(dir / "lib64"), "lib");
  EXPECT_TRUE(fs::is_directory(dir / "lib/python3.11/site-packages"));
  EXPECT_TRUE(fs::is_directory(dir / "include/python3.11"));
  auto activate = util::read_file(dir / "bin/activate");
  ASSERT_TRUE(activate);
  EXPECT_NE(activate->find("VIRTUAL_ENV=\"" + dir.string() + "\""), std::string::npos);
  EXPECT_NE(activate->find("PS1=\"(v) ${PS1:-}\""), std::string::npos) << *activate;
  EXPECT_FALSE(fs::exists(dir / ".gitignore"));
}

TEST(Venv, OlderPythonsHaveNoExecutableKeyAndNewerAGitignore) {
  testing::TempDir tmp;
  ASSERT_TRUE(create_venv(tmp.path() / "old", fake_base(8)));
  EXPECT_EQ(*util::read_file(tmp.path() / "old/pyvenv.cfg"),
            "home = /opt/py/bin\ninclude-system-site-packages = false\nversion = 3.8.4\n");
  ASSERT_TRUE(create_venv(tmp.path() / "new", fake_base(13)));
  EXPECT_TRUE(fs::exists(tmp.path() / "new/.gitignore"));
}

TEST(Venv, UsesTheBaseActivateTemplate) {
  testing::TempDir tmp;
  const fs::path stdlib = tmp.path() / "stdlib";
  fs::create_directories(stdlib / "venv/scripts/common");
  ASSERT_TRUE(util::write_file_atomic(stdlib / "venv/scripts/common/activate",
                                      "D=__VENV_DIR__ P=(__VENV_PROMPT__) B=__VENV_BIN_NAME__\n"));
  ASSERT_TRUE(create_venv(tmp.path() / "v", fake_base(12, stdlib)));
  EXPECT_EQ(*util::read_file(tmp.path() / "v/bin/activate"),
            "D=" + (tmp.path() / "v").string() + " P=(v) B=bin\n");
}

TEST(Venv, IdempotentAndCompletesMissingPieces) {
  testing::TempDir tmp;
  const fs::path dir = tmp.path() / "v";
  ASSERT_TRUE(create_venv(dir, fake_base(11)));
  ASSERT_TRUE(util::write_file_atomic(dir / "lib/python3.11/site-packages/keep.py", "x"));
  fs::remove(dir / "bin/python3.11");
  auto again = create_venv(dir, fake_base(11));
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_FALSE(again->created);
  EXPECT_TRUE(fs::is_symlink(dir / "bin/python3.11"));
  EXPECT_TRUE(fs::exists(dir / "lib/python3.11/site-packages/keep.py"));
}

TEST(Venv, CompletesWhatAKilledCreatorLeftAndLeavesNoMarker) {
  testing::TempDir tmp;
  const fs::path dir = tmp.path() / "v";
  ASSERT_TRUE(create_venv(dir, fake_base(11)));
  EXPECT_FALSE(fs::exists(dir / ".strata"));  // nothing of the marker stays in a finished venv
  // A kill -9 before pyvenv.cfg: bin/ and lib/ are there, the directory is no venv yet.
  fs::remove(dir / "pyvenv.cfg");
  fs::remove(dir / "bin/activate");
  fs::create_directories(dir / ".strata");
  ASSERT_TRUE(util::write_file_atomic(dir / ".strata/venv-incomplete", ""));
  ASSERT_TRUE(util::write_file_atomic(dir / "bin/activate.tmp.4242.beef", "half"));  // killed mid-write
  auto resumed = create_venv(dir, fake_base(11));
  ASSERT_TRUE(resumed) << resumed.error().message;
  EXPECT_TRUE(is_venv(dir));
  EXPECT_TRUE(fs::exists(dir / "bin/activate"));
  EXPECT_FALSE(fs::exists(dir / ".strata/venv-incomplete"));
  EXPECT_FALSE(fs::exists(dir / "bin/activate.tmp.4242.beef"));
  // Without the marker the same files are someone else's directory, not ours to complete.
  fs::remove(dir / "pyvenv.cfg");
  EXPECT_FALSE(create_venv(dir, fake_base(11)));
}

TEST(Venv, RefusesNonVenvDirectoriesAndOtherVersions) {
  testing::TempDir tmp;
  const fs::path dir = tmp.path() / "data";
  fs::create_directories(dir);
  ASSERT_TRUE(util::write_file_atomic(dir / "file.txt", "x"));
  auto refused = create_venv(dir, fake_base(11));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message,
            dir.string() + ": exists and is neither a virtual environment nor an empty directory");
  EXPECT_FALSE(fs::exists(dir / "pyvenv.cfg"));

  ASSERT_TRUE(create_venv(tmp.path() / "empty-ok", fake_base(11)));
  ASSERT_TRUE(create_venv(tmp.path() / "v", fake_base(11)));
  auto other = create_venv(tmp.path() / "v", fake_base(12));
  ASSERT_FALSE(other);
  EXPECT_NE(other.error().message.find("is a virtual environment for Python 3.11.4, not 3.12"),
            std::string::npos)
      << other.error().message;
}

}  // namespace
}  // namespace strata::env
