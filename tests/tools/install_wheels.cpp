// Test-only driver (not shipped): installs wheel files into a virtual environment with
// wheel::install_wheel, creating the venv natively when missing. Used by
// integration/test_wheel_install.py until `strata install` drives the same code.
//
//   strata_install_wheels --env DIR [--python BASE] [--no-compile]
//                         [--unpack-cache DIR --link-mode auto|copy|hardlink|reflink] WHEEL...
//
// Prints one JSON document: {"installed": [{"name", "version", "dist_info", "files", "compiled"}]}.

#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "env/probe.hpp"
#include "env/venv.hpp"
#include "util/fs.hpp"
#include "wheel/install.hpp"
#include "wheel/record.hpp"
#include "wheel/unpack.hpp"

namespace {

// The wheel's sha256 in hex (the unpack cache key), from the RECORD-style base64url digest.
std::string sha256_hex(const std::string& path) {
  auto content = strata::util::read_file(path);
  if (!content) return {};
  strata::wheel::Hasher h;
  h.update(*content);
  std::string b64 = h.finish().substr(7);
  std::string bits, hex;
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  unsigned acc = 0;
  int n = 0;
  for (char c : b64) {
    acc = (acc << 6) | static_cast<unsigned>(alphabet.find(c));
    n += 6;
    if (n >= 8) {
      n -= 8;
      char buf[3];
      std::snprintf(buf, sizeof buf, "%02x", (acc >> n) & 0xff);
      hex += buf;
    }
  }
  return hex;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace strata;
  std::string env_dir, base = "python3";
  bool compile = true;
  std::string unpack_cache, link_mode = "auto";
  std::vector<std::string> wheels;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--env" && i + 1 < argc) {
      env_dir = argv[++i];
    } else if (arg == "--python" && i + 1 < argc) {
      base = argv[++i];
    } else if (arg == "--unpack-cache" && i + 1 < argc) {
      unpack_cache = argv[++i];
    } else if (arg == "--link-mode" && i + 1 < argc) {
      link_mode = argv[++i];
    } else if (arg == "--no-compile") {
      compile = false;
    } else {
      wheels.push_back(arg);
    }
  }
  auto die = [](const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.message.c_str());
    return 1;
  };
  if (env_dir.empty()) return die({ErrorKind::usage, "--env DIR is required"});
  auto base_interpreter = env::probe_interpreter(base, {});
  if (!base_interpreter) return die(base_interpreter.error());
  auto venv = env::create_venv(env_dir, *base_interpreter);
  if (!venv) return die(venv.error());
  auto interpreter = env::probe_interpreter(venv->python.string(), {});
  if (!interpreter) return die(interpreter.error());
  auto scheme = wheel::scheme_paths(*interpreter);
  if (!scheme) return die(scheme.error());
  wheel::InstallTarget target{*scheme, venv->python, venv->dir / ".strata", std::nullopt};
  if (auto recovered = wheel::recover(target.state_dir); !recovered) return die(recovered.error());
  wheel::WheelInstallOptions options;
  options.compile = compile;
  nlohmann::json installed = nlohmann::json::array();
  auto mode = wheel::parse_link_mode(link_mode);
  if (!mode) return die(mode.error());
  options.link_mode = *mode;
  for (const auto& w : wheels) {
    if (!unpack_cache.empty()) {
      auto unpacked = wheel::unpack_to_cache(w, sha256_hex(w), unpack_cache, options.limits);
      if (!unpacked) return die(unpacked.error());
      options.unpacked = *unpacked;
    }
    auto result = wheel::install_wheel(w, target, options);
    if (!result) return die(result.error());
    nlohmann::json files = nlohmann::json::array();
    for (const auto& f : result->files) files.push_back(f.string());
    installed.push_back({{"name", result->name},
                         {"version", result->version},
                         {"dist_info", result->dist_info.string()},
                         {"files", files},
                         {"compiled", result->compiled},
                         {"link_mode", std::string(wheel::to_string(result->link_mode))}});
  }
  std::printf("%s\n", nlohmann::json{{"installed", installed}}.dump(1).c_str());
  return 0;
}
