#include "oci/layout.hpp"

#include <sys/utsname.h>
#include <unistd.h>

#include <system_error>

#include <fmt/format.h>

#include "fetch/hash.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

namespace strata::oci {
namespace fs = std::filesystem;

namespace {
constexpr std::string_view kLayoutFile = R"({"imageLayoutVersion":"1.0.0"})";
}

bool is_manifest_type(std::string_view t) { return t == kOciManifest || t == kDockerManifest; }
bool is_index_type(std::string_view t) { return t == kOciIndex || t == kDockerManifestList; }
bool is_layer_type(std::string_view t) {
  return t == kOciLayerTar || t == kOciLayerGzip || t == kOciLayerZstd || t == kDockerLayerGzip;
}
std::string oci_layer_type(std::string_view t) {
  return t == kDockerLayerGzip ? std::string(kOciLayerGzip) : std::string(t);
}

std::string Platform::str() const {
  return variant.empty() ? fmt::format("{}/{}", os, architecture)
                         : fmt::format("{}/{}/{}", os, architecture, variant);
}

Result<Platform> parse_platform(std::string_view text) {
  auto parts = util::split(text, '/');
  if (parts.size() < 2 || parts.size() > 3 || parts[0].empty() || parts[1].empty())
    return fail(ErrorKind::usage,
                fmt::format("--platform {}: expected OS/ARCH[/VARIANT], e.g. linux/arm64", text));
  Platform p;
  p.os = std::string(parts[0]);
  p.architecture = std::string(parts[1]);
  if (parts.size() == 3) p.variant = std::string(parts[2]);
  return p;
}

Platform host_platform() {
  utsname u{};
  ::uname(&u);
  std::string_view machine = u.machine;
  Platform p;
  if (machine == "x86_64")
    p.architecture = "amd64";
  else if (machine == "aarch64")
    p.architecture = "arm64";
  else if (machine.starts_with("armv7"))
    p = {"linux", "arm", "v7"};
  else if (machine == "i686" || machine == "i386")
    p.architecture = "386";
  else
    p.architecture = std::string(machine);  // ppc64le, s390x, riscv64 are spelled alike
  return p;
}

nlohmann::json to_json(const Descriptor& d) {
  nlohmann::json j = {{"mediaType", d.media_type}, {"digest", d.digest}, {"size", d.size}};
  if (d.platform) {
    j["platform"] = {{"os", d.platform->os}, {"architecture", d.platform->architecture}};
    if (!d.platform->variant.empty()) j["platform"]["variant"] = d.platform->variant;
  }
  if (!d.annotations.empty()) j["annotations"] = d.annotations;
  return j;
}

Result<Descriptor> descriptor_from_json(const nlohmann::json& j, std::string_view subject) {
  auto bad = [&](std::string_view what) {
    return fail(ErrorKind::usage, fmt::format("{}: descriptor: {}", subject, what));
  };
  if (!j.is_object()) return bad("not an object");
  Descriptor d;
  auto mt = j.find("mediaType");
  if (mt == j.end() || !mt->is_string()) return bad("no \"mediaType\" string");
  d.media_type = mt->get<std::string>();
  auto digest = j.find("digest");
  if (digest == j.end() || !digest->is_string()) return bad("no \"digest\" string");
  d.digest = digest->get<std::string>();
  if (auto hex = digest_hex(d.digest); !hex) return bad(hex.error().message);
  auto size = j.find("size");
  if (size == j.end() || !size->is_number_unsigned()) return bad("no \"size\" number");
  d.size = size->get<std::uint64_t>();
  if (auto p = j.find("platform"); p != j.end() && p->is_object()) {
    Platform platform;
    platform.os = p->value("os", "");
    platform.architecture = p->value("architecture", "");
    platform.variant = p->value("variant", "");
    d.platform = platform;
  }
  if (auto a = j.find("annotations"); a != j.end() && a->is_object())
    for (const auto& [k, v] : a->items())
      if (v.is_string()) d.annotations[k] = v.get<std::string>();
  return d;
}

std::string sha256_digest(std::string_view bytes) {
  fetch::Sha256 sha;
  sha.update(bytes);
  return "sha256:" + sha.hex_digest();
}

Result<std::string> digest_hex(std::string_view digest) {
  if (!digest.starts_with("sha256:") || !fetch::is_sha256_hex(digest.substr(7)))
    return fail(ErrorKind::usage,
                fmt::format("\"{}\" is not a sha256 digest (sha256:<64 hex digits>)", digest));
  return util::to_lower(digest.substr(7));
}

std::string canonical_json(const nlohmann::json& json) { return json.dump(); }

Result<Layout> Layout::create(fs::path dir) {
  std::error_code ec;
  fs::create_directories(dir / "blobs" / "sha256", ec);
  if (ec) return fail(ErrorKind::runtime, fmt::format("{}: cannot create: {}", dir.string(), ec.message()));
  if (auto ok = util::write_file_atomic(dir / "oci-layout", kLayoutFile, util::Durability::process_crash);
      !ok)
    return std::unexpected(ok.error());
  return Layout(std::move(dir));
}

Result<Layout> Layout::open(fs::path dir) {
  auto text = util::read_file(dir / "oci-layout");
  if (!text)
    return fail(ErrorKind::usage,
                fmt::format("{}: not an OCI image layout (no oci-layout file)", dir.string()));
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (!j.is_object() || j.value("imageLayoutVersion", "") != "1.0.0")
    return fail(ErrorKind::usage,
                fmt::format("{}: oci-layout: expected imageLayoutVersion 1.0.0", dir.string()));
  return Layout(std::move(dir));
}

fs::path Layout::blob_path(std::string_view digest) const {
  auto hex = digest_hex(digest);
  if (!hex) return {};
  return dir_ / "blobs" / "sha256" / *hex;
}

bool Layout::has_blob(std::string_view digest) const {
  std::error_code ec;
  fs::path p = blob_path(digest);
  return !p.empty() && fs::is_regular_file(p, ec);
}

Result<std::string> Layout::read_blob(std::string_view digest) const {
  auto hex = digest_hex(digest);
  if (!hex) return fail(ErrorKind::usage, fmt::format("{}: {}", dir_.string(), hex.error().message));
  auto bytes = util::read_file(blob_path(digest));
  if (!bytes) return fail(ErrorKind::usage, fmt::format("{}: blob {} is missing", dir_.string(), digest));
  std::string actual = sha256_digest(*bytes);
  if (actual != "sha256:" + *hex)
    return fail(ErrorKind::runtime, fmt::format("{}: blob {} does not match its digest: its content is {}",
                                                dir_.string(), digest, actual));
  return bytes;
}

Result<void> Layout::verify_blob(const Descriptor& d) const {
  fs::path p = blob_path(d.digest);
  if (p.empty()) return fail(ErrorKind::usage, fmt::format("{}: bad digest \"{}\"", dir_.string(), d.digest));
  std::error_code ec;
  auto size = fs::file_size(p, ec);
  if (ec) return fail(ErrorKind::usage, fmt::format("{}: blob {} is missing", dir_.string(), d.digest));
  if (size != d.size)
    return fail(ErrorKind::runtime, fmt::format("{}: blob {} has {} bytes, its descriptor says {}",
                                                dir_.string(), d.digest, size, d.size));
  auto hex = fetch::sha256_file(p);
  if (!hex) return std::unexpected(hex.error());
  if ("sha256:" + *hex != d.digest)
    return fail(ErrorKind::runtime,
                fmt::format("{}: blob {} does not match its digest: its content is sha256:{}", dir_.string(),
                            d.digest, *hex));
  return {};
}

Result<Descriptor> Layout::write_blob(std::string_view media_type, std::string_view bytes) {
  Descriptor d{std::string(media_type), sha256_digest(bytes), bytes.size(), std::nullopt, {}};
  if (!has_blob(d.digest))
    if (auto ok = util::write_file_atomic(blob_path(d.digest), bytes, util::Durability::process_crash); !ok)
      return std::unexpected(ok.error());
  return d;
}

Result<void> Layout::adopt_blob(const fs::path& file, std::string_view digest) {
  fs::path to = blob_path(digest);
  std::error_code ec;
  fs::rename(file, to, ec);
  if (!ec) return {};
  fs::copy_file(file, to, fs::copy_options::overwrite_existing, ec);
  if (ec)
    return fail(ErrorKind::runtime,
                fmt::format("{}: cannot store blob {}: {}", dir_.string(), digest, ec.message()));
  fs::remove(file, ec);
  return {};
}

Result<void> Layout::link_blob(const fs::path& file, std::string_view digest) {
  if (has_blob(digest)) return {};
  fs::path to = blob_path(digest);
  fs::path tmp = to;
  tmp += fmt::format(".tmp.{}", ::getpid());
  std::error_code ec;
  fs::remove(tmp, ec);
  fs::create_hard_link(file, tmp, ec);
  if (ec) {
    ec.clear();
    fs::copy_file(file, tmp, fs::copy_options::overwrite_existing, ec);
  }
  if (!ec) fs::rename(tmp, to, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    return fail(ErrorKind::runtime, fmt::format("{}: cannot store blob {} from {}: {}", dir_.string(), digest,
                                                file.string(), ec.message()));
  }
  return {};
}

Result<std::vector<Descriptor>> Layout::index() const {
  std::vector<Descriptor> out;
  std::error_code ec;
  const fs::path file = dir_ / "index.json";
  if (!fs::exists(file, ec)) return out;
  auto text = util::read_file(file);
  if (!text) return std::unexpected(text.error());
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (!j.is_object() || !j.contains("manifests") || !j["manifests"].is_array())
    return fail(ErrorKind::usage,
                fmt::format("{}: not an image index (no \"manifests\" array)", file.string()));
  for (const auto& m : j["manifests"]) {
    auto d = descriptor_from_json(m, file.string());
    if (!d) return std::unexpected(d.error());
    out.push_back(std::move(*d));
  }
  return out;
}

Result<void> Layout::write_index(const std::vector<Descriptor>& manifests) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& m : manifests) list.push_back(to_json(m));
  nlohmann::json j = {{"schemaVersion", 2}, {"mediaType", kOciIndex}, {"manifests", list}};
  return util::write_file_atomic(dir_ / "index.json", canonical_json(j), util::Durability::process_crash);
}

}  // namespace strata::oci
