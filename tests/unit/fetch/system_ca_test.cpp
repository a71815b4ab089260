#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "fetch/curl_transport.hpp"

namespace strata::fetch {
namespace {

namespace fs = std::filesystem;

struct SystemCaFile : ::testing::Test {
  fs::path dir = fs::temp_directory_path() / ("strata-system-ca-" + std::to_string(::getpid()));
  void SetUp() override { fs::create_directories(dir); }
  void TearDown() override { fs::remove_all(dir); }
  std::string file(const char* name) {
    std::ofstream(dir / name) << "-----BEGIN CERTIFICATE-----\n";
    return (dir / name).string();
  }
};

TEST_F(SystemCaFile, TheFirstRegularFileWins) {
  std::string missing = (dir / "missing.crt").string();
  std::string directory = (dir / "certs").string();
  fs::create_directories(directory);
  std::string second = file("second.pem"), third = file("third.pem");
  const char* candidates[] = {missing.c_str(), directory.c_str(), second.c_str(), third.c_str()};
  EXPECT_EQ(system_ca_file(candidates), fs::path(second));
}

TEST_F(SystemCaFile, ASymlinkToAFileCountsAndADanglingOneDoesNot) {
  std::string target = file("bundle.pem");
  fs::create_symlink(dir / "nowhere", dir / "dangling.crt");
  fs::create_symlink(target, dir / "link.crt");
  std::string dangling = (dir / "dangling.crt").string(), link = (dir / "link.crt").string();
  const char* candidates[] = {dangling.c_str(), link.c_str()};
  EXPECT_EQ(system_ca_file(candidates), fs::path(link));
}

TEST_F(SystemCaFile, NoneIsEmpty) {
  std::string missing = (dir / "missing.crt").string();
  const char* candidates[] = {missing.c_str()};
  EXPECT_TRUE(system_ca_file(candidates).empty());
}

TEST(SystemCaFiles, DebiansPathComesFirst) {
  EXPECT_STREQ(kSystemCaFiles[0], "/etc/ssl/certs/ca-certificates.crt");
}

}  // namespace
}  // namespace strata::fetch
