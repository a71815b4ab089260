#pragma once
// Builds small wheels for tests: files plus a generated dist-info (METADATA, WHEEL, RECORD).

#include <filesystem>
#include <string>
#include <vector>

#include "wheel/archive.hpp"
#include "wheel/record.hpp"

namespace strata::testing {

struct TestWheel {
  std::string name = "demo";
  std::string version = "1.0";
  bool purelib = true;
  std::string wheel_version = "1.0";
  std::vector<wheel::ZipMember> files;  ///< payload (hashed into RECORD)
  std::vector<wheel::ZipMember> extra;  ///< written after RECORD, not listed in it
  std::string extra_record;             ///< rows appended to RECORD as given
  std::string entry_points;             ///< entry_points.txt content (empty: none)
  std::string dist_info_override;       ///< dist-info directory name to use instead

  std::string dist_info() const {
    return dist_info_override.empty() ? name + "-" + version + ".dist-info" : dist_info_override;
  }
  std::string filename() const { return name + "-" + version + "-py3-none-any.whl"; }

  static std::string hash(const std::string& data) {
    wheel::Hasher h;
    h.update(data);
    return h.finish();
  }

  /// Writes the wheel into `dir` and returns its path.
  std::filesystem::path write(const std::filesystem::path& dir) const {
    std::vector<wheel::ZipMember> members = files;
    const std::string di = dist_info();
    members.push_back(
        {di + "/METADATA", "Metadata-Version: 2.1\nName: " + name + "\nVersion: " + version + "\n\nbody\n"});
    members.push_back({di + "/WHEEL", "Wheel-Version: " + wheel_version +
                                          "\nGenerator: test\nRoot-Is-Purelib: " +
                                          (purelib ? "true" : "false") + "\nTag: py3-none-any\n"});
    if (!entry_points.empty()) members.push_back({di + "/entry_points.txt", entry_points});
    std::string record;
    for (const auto& m : members)
      if (m.kind == wheel::ZipMember::Kind::file)
        record += m.name + "," + hash(m.data) + "," + std::to_string(m.data.size()) + "\n";
    record += di + "/RECORD,,\n" + extra_record;
    members.push_back({di + "/RECORD", record});
    for (const auto& m : extra) members.push_back(m);
    auto path = dir / filename();
    auto ok = wheel::write_zip(path, members);
    if (!ok) throw std::runtime_error(ok.error().message);
    return path;
  }
};

}  // namespace strata::testing
