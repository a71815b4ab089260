#include "oci/base.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <regex>
#include <set>
#include <system_error>

#include <fmt/format.h>

#include "fetch/hash.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"
#include "wheel/archive.hpp"

namespace strata::oci {
namespace fs = std::filesystem;

namespace {

// "LOCATION[:TAG]": a tag is what follows the last ':' after the last '/'.
void split_tag(std::string_view rest, BaseSpec& spec) {
  auto slash = rest.rfind('/');
  auto colon = rest.rfind(':');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    spec.location = std::string(rest.substr(0, colon));
    spec.tag = std::string(rest.substr(colon + 1));
  } else {
    spec.location = std::string(rest);
  }
}

Result<void> extract_archive(const fs::path& archive, const fs::path& dir) {
  auto limits = wheel::ArchiveLimits{};
  limits.max_ratio = 0;
  auto reader = wheel::ArchiveReader::open(archive, limits, wheel::ArchiveFormat::source);
  if (!reader) return std::unexpected(reader.error());
  util::DirMaker dirs;
  for (;;) {
    auto entry = reader->next();
    if (!entry) return std::unexpected(entry.error());
    if (!*entry) break;
    const fs::path to = dir / (*entry)->path;
    if ((*entry)->directory) {
      if (auto ok = dirs.ensure(to); !ok) return ok;
      continue;
    }
    if (auto ok = dirs.ensure(to.parent_path()); !ok) return ok;
    std::FILE* out = std::fopen(to.c_str(), "wb");
    if (out == nullptr) return fail(ErrorKind::runtime, fmt::format("{}: cannot create", to.string()));
    auto ok = reader->read([&](std::string_view chunk) -> Result<void> {
      if (std::fwrite(chunk.data(), 1, chunk.size(), out) != chunk.size())
        return fail(ErrorKind::runtime, fmt::format("{}: cannot write", to.string()));
      return {};
    });
    std::fclose(out);
    if (!ok) return ok;
  }
  return {};
}

Result<nlohmann::json> parse_document(const Layout& layout, const Descriptor& d, std::string_view name) {
  auto bytes = layout.read_blob(d.digest);
  if (!bytes) return fail(bytes.error().kind, fmt::format("{}: {}", name, bytes.error().message));
  if (bytes->size() != d.size)
    return fail(ErrorKind::runtime, fmt::format("{}: {} has {} bytes, its descriptor says {}", name, d.digest,
                                                bytes->size(), d.size));
  auto j = nlohmann::json::parse(*bytes, nullptr, false);
  if (!j.is_object())
    return fail(ErrorKind::usage, fmt::format("{}: {} is not a JSON object", name, d.digest));
  return j;
}

bool platform_matches(const Descriptor& d, const Platform& want) {
  if (!d.platform) return false;
  if (d.platform->os != want.os || d.platform->architecture != want.architecture) return false;
  return want.variant.empty() || d.platform->variant == want.variant;
}

}  // namespace

Result<BaseSpec> parse_base_spec(std::string_view text) {
  BaseSpec spec;
  if (text.starts_with("oci:")) {
    spec.kind = BaseSpec::Kind::layout;
    split_tag(text.substr(4), spec);
  } else if (text.starts_with("oci-archive:")) {
    spec.kind = BaseSpec::Kind::archive;
    split_tag(text.substr(12), spec);
  } else {
    spec.kind = BaseSpec::Kind::registry;
    spec.location = std::string(text);
  }
  if (spec.location.empty())
    return fail(
        ErrorKind::usage,
        fmt::format(
            "--base {}: expected oci:DIR[:TAG], oci-archive:FILE[:TAG] or REGISTRY/REPO[:TAG|@DIGEST]",
            text));
  return spec;
}

Result<BaseImage> open_base(const BaseSpec& spec, std::string_view name, const fs::path& scratch,
                            const Platform& platform, const Puller& pull) {
  BaseImage base;
  base.name = std::string(name);
  std::optional<Descriptor> pulled;
  std::error_code ec;
  switch (spec.kind) {
    case BaseSpec::Kind::layout:
      base.layout_dir = spec.location;
      break;
    case BaseSpec::Kind::archive: {
      if (!fs::is_regular_file(spec.location, ec))
        return fail(ErrorKind::usage, fmt::format("--base {}: no such archive {}", name, spec.location));
      base.layout_dir = scratch / "base";
      if (auto ok = extract_archive(spec.location, base.layout_dir); !ok)
        return fail(ok.error().kind, fmt::format("--base {}: {}", name, ok.error().message));
      break;
    }
    case BaseSpec::Kind::registry: {
      if (!pull)
        return fail(
            ErrorKind::usage,
            fmt::format(
                "--base {}: pulling from a registry is not available; use oci:DIR or oci-archive:FILE",
                name));
      auto d = pull(spec.location, scratch / "base");
      if (!d) return std::unexpected(d.error());
      base.layout_dir = d->layout;
      pulled = d->manifest;
      break;
    }
  }
  auto layout = Layout::open(base.layout_dir);
  if (!layout) return fail(ErrorKind::usage, fmt::format("--base {}: {}", name, layout.error().message));

  // The manifest: the tagged (or only) entry of index.json, through nested indexes by platform.
  Descriptor d;
  if (pulled) {
    d = *pulled;
  } else {
    auto index = layout->index();
    if (!index) return fail(index.error().kind, fmt::format("--base {}: {}", name, index.error().message));
    std::vector<Descriptor> matches;
    for (const auto& m : *index) {
      auto ref = m.annotations.find(std::string(kRefNameAnnotation));
      std::string ref_name = ref == m.annotations.end() ? "" : ref->second;
      // skopeo and buildah write "name:tag" or just "tag" as the ref.name.
      if (spec.tag.empty() || ref_name == spec.tag || ref_name.ends_with(":" + spec.tag))
        matches.push_back(m);
    }
    if (matches.empty())
      return fail(ErrorKind::usage, spec.tag.empty()
                                        ? fmt::format("--base {}: the layout holds no image", name)
                                        : fmt::format("--base {}: no image tagged \"{}\"", name, spec.tag));
    if (matches.size() > 1) {
      std::vector<Descriptor> same_platform;
      for (const auto& m : matches)
        if (platform_matches(m, platform)) same_platform.push_back(m);
      if (same_platform.size() != 1)
        return fail(ErrorKind::usage,
                    fmt::format("--base {}: {} images match; name one with :TAG", name, matches.size()));
      matches = same_platform;
    }
    d = matches.front();
  }
  for (int depth = 0; is_index_type(d.media_type); ++depth) {
    if (depth > 4) return fail(ErrorKind::usage, fmt::format("--base {}: indexes nested too deeply", name));
    auto j = parse_document(*layout, d, fmt::format("--base {}", name));
    if (!j) return std::unexpected(j.error());
    std::optional<Descriptor> chosen;
    std::vector<std::string> seen;
    for (const auto& m : j->value("manifests", nlohmann::json::array())) {
      auto entry = descriptor_from_json(m, fmt::format("--base {}: index {}", name, d.digest));
      if (!entry) return std::unexpected(entry.error());
      if (entry->platform) seen.push_back(entry->platform->str());
      if (!chosen && platform_matches(*entry, platform)) chosen = *entry;
    }
    if (!chosen)
      return fail(ErrorKind::usage,
                  fmt::format("--base {}: no image for {} (the index has {})", name, platform.str(),
                              seen.empty() ? "no platforms" : util::join(seen, ", ")));
    d = *chosen;
  }
  if (!is_manifest_type(d.media_type))
    return fail(ErrorKind::usage,
                fmt::format("--base {}: unknown media type \"{}\" for the image manifest {}", name,
                            d.media_type, d.digest));
  auto manifest = parse_document(*layout, d, fmt::format("--base {}", name));
  if (!manifest) return std::unexpected(manifest.error());
  base.manifest = d;
  if (auto mt = manifest->find("mediaType");
      mt != manifest->end() && mt->is_string() && !is_manifest_type(mt->get<std::string>()))
    return fail(ErrorKind::usage, fmt::format("--base {}: manifest {}: unknown media type \"{}\"", name,
                                              d.digest, mt->get<std::string>()));
  auto config = descriptor_from_json(manifest->value("config", nlohmann::json()),
                                     fmt::format("--base {}: manifest {} config", name, d.digest));
  if (!config) return std::unexpected(config.error());
  if (config->media_type != kOciConfig && config->media_type != kDockerConfig)
    return fail(ErrorKind::usage, fmt::format("--base {}: config {}: unknown media type \"{}\"", name,
                                              config->digest, config->media_type));
  base.config_descriptor = *config;
  auto config_json = parse_document(*layout, *config, fmt::format("--base {}", name));
  if (!config_json) return std::unexpected(config_json.error());
  base.config = std::move(*config_json);
  for (const auto& l : manifest->value("layers", nlohmann::json::array())) {
    auto layer = descriptor_from_json(l, fmt::format("--base {}: manifest {} layer", name, d.digest));
    if (!layer) return std::unexpected(layer.error());
    if (!is_layer_type(layer->media_type))
      return fail(ErrorKind::usage, fmt::format("--base {}: layer {}: unknown media type \"{}\"", name,
                                                layer->digest, layer->media_type));
    if (!layout->has_blob(layer->digest))
      return fail(ErrorKind::usage, fmt::format("--base {}: layer {} is missing from {}", name, layer->digest,
                                                base.layout_dir.string()));
    base.layers.push_back(std::move(*layer));
  }
  const auto rootfs = base.config.value("rootfs", nlohmann::json::object());
  for (const auto& id : rootfs.value("diff_ids", nlohmann::json::array()))
    if (id.is_string()) base.diff_ids.push_back(id.get<std::string>());
  if (base.diff_ids.size() != base.layers.size())
    return fail(ErrorKind::usage, fmt::format("--base {}: the config lists {} diff_ids for {} layers", name,
                                              base.diff_ids.size(), base.layers.size()));
  return base;
}

// ---- the base's files ----

std::optional<std::string> BaseFiles::resolve(std::string_view path) const {
  std::vector<std::string> todo;
  for (auto part : util::split(path, '/'))
    if (!part.empty() && part != ".") todo.emplace_back(part);
  std::reverse(todo.begin(), todo.end());
  std::vector<std::string> done;
  int hops = 0;
  while (!todo.empty()) {
    std::string part = std::move(todo.back());
    todo.pop_back();
    if (part == "..") {
      if (!done.empty()) done.pop_back();
      continue;
    }
    done.push_back(part);
    const std::string joined = util::join(done, "/");
    auto it = nodes.find(joined);
    if (it == nodes.end()) {
      // A layer tar may leave out a file's parent directories: a missing one is implied.
      if (todo.empty()) return std::nullopt;
      continue;
    }
    if (it->second.type != BaseNode::Type::symlink) continue;
    if (++hops > 40) return std::nullopt;
    done.pop_back();
    const std::string& link = it->second.link;
    if (link.starts_with('/')) done.clear();
    auto parts = util::split(link, '/');
    for (auto p = parts.rbegin(); p != parts.rend(); ++p)
      if (!p->empty() && *p != ".") todo.emplace_back(*p);
  }
  return util::join(done, "/");
}

const BaseNode* BaseFiles::find(std::string_view path) const {
  auto resolved = resolve(path);
  if (!resolved) return nullptr;
  auto it = nodes.find(*resolved);
  return it == nodes.end() ? nullptr : &it->second;
}

namespace {

struct ReadState {
  std::FILE* file = nullptr;
  fetch::Sha256 sha;
  std::uint64_t size = 0;
  char buffer[1 << 16];
};

la_ssize_t read_callback(archive*, void* client, const void** out) {
  auto* s = static_cast<ReadState*>(client);
  std::size_t n = std::fread(s->buffer, 1, sizeof s->buffer, s->file);
  s->sha.update({s->buffer, n});
  s->size += n;
  *out = s->buffer;
  return static_cast<la_ssize_t>(n);
}

std::string clean_member(std::string_view raw) {
  std::string p(raw);
  while (p.starts_with("./")) p.erase(0, 2);
  while (p.starts_with('/')) p.erase(0, 1);
  while (p.ends_with('/')) p.pop_back();
  return p == "." ? std::string() : p;
}

void remove_below(std::map<std::string, BaseNode>& nodes, const std::string& dir, bool keep_dir) {
  auto it = nodes.lower_bound(dir);
  while (it != nodes.end() && it->first.starts_with(dir)) {
    const bool self = it->first.size() == dir.size();
    if (self ? !keep_dir : it->first[dir.size()] == '/')
      it = nodes.erase(it);
    else
      ++it;
  }
}

}  // namespace

Result<BaseFiles> read_base_files(const BaseImage& base,
                                  const std::function<bool(std::string_view)>& wanted) {
  BaseFiles files;
  auto layout = Layout::open(base.layout_dir);
  if (!layout) return std::unexpected(layout.error());
  for (const auto& layer : base.layers) {
    const fs::path blob = layout->blob_path(layer.digest);
    ReadState state;
    state.file = std::fopen(blob.c_str(), "rb");
    if (state.file == nullptr)
      return fail(ErrorKind::usage, fmt::format("--base {}: layer {} is missing", base.name, layer.digest));
    std::unique_ptr<archive, int (*)(archive*)> a(archive_read_new(), archive_read_free);
    archive_read_support_format_tar(a.get());
    archive_read_support_filter_gzip(a.get());
    archive_read_support_filter_zstd(a.get());
    // A blob that does not unpack is first checked against its digest: a corrupt blob says so.
    auto layer_error = [&](std::string_view what) {
      if (auto hex = fetch::sha256_file(blob); hex && "sha256:" + *hex != layer.digest)
        return fail(ErrorKind::runtime,
                    fmt::format("--base {}: layer {} does not match its digest: its content is "
                                "sha256:{}",
                                base.name, layer.digest, *hex));
      return fail(ErrorKind::runtime, fmt::format("--base {}: layer {}: {}", base.name, layer.digest, what));
    };
    if (archive_read_open(a.get(), &state, nullptr, read_callback, nullptr) != ARCHIVE_OK) {
      std::fclose(state.file);
      return layer_error(archive_error_string(a.get()));
    }
    std::set<std::string> this_layer;
    archive_entry* e = nullptr;
    int rc = ARCHIVE_OK;
    while ((rc = archive_read_next_header(a.get(), &e)) == ARCHIVE_OK || rc == ARCHIVE_WARN) {
      std::string path = clean_member(archive_entry_pathname(e));
      if (path.empty()) continue;
      const auto slash = path.rfind('/');
      const std::string dir = slash == std::string::npos ? "" : path.substr(0, slash);
      const std::string leaf = slash == std::string::npos ? path : path.substr(slash + 1);
      if (leaf == ".wh..wh..opq") {  // opaque directory: what lower layers had below it is gone
        for (auto it = files.nodes.begin(); it != files.nodes.end();)
          it = (dir.empty() || (it->first.starts_with(dir + "/"))) && !this_layer.contains(it->first)
                   ? files.nodes.erase(it)
                   : std::next(it);
        continue;
      }
      if (leaf.starts_with(".wh.")) {
        remove_below(files.nodes, (dir.empty() ? "" : dir + "/") + leaf.substr(4), false);
        continue;
      }
      BaseNode node;
      const char* hardlink = archive_entry_hardlink(e);
      switch (archive_entry_filetype(e)) {
        case AE_IFREG:
          node.type = BaseNode::Type::file;
          break;
        case AE_IFDIR:
          node.type = BaseNode::Type::directory;
          break;
        case AE_IFLNK:
          node.type = BaseNode::Type::symlink;
          node.link = archive_entry_symlink(e) ? archive_entry_symlink(e) : "";
          break;
        default:
          node.type = BaseNode::Type::other;
      }
      if (hardlink != nullptr) {  // the same file as an earlier member
        auto it = files.nodes.find(clean_member(hardlink));
        if (it != files.nodes.end()) node = it->second;
      }
      node.size = static_cast<std::uint64_t>(archive_entry_size(e));
      node.executable = (archive_entry_perm(e) & 0111) != 0;
      if (node.type == BaseNode::Type::file && hardlink == nullptr && wanted(path)) {
        std::string content;
        char buffer[1 << 16];
        la_ssize_t n = 0;
        while ((n = archive_read_data(a.get(), buffer, sizeof buffer)) > 0)
          content.append(buffer, static_cast<std::size_t>(n));
        if (n < 0) {
          std::fclose(state.file);
          return layer_error(archive_error_string(a.get()));
        }
        node.content = std::move(content);
      }
      // A non-directory replaces a whole tree; a directory over a directory merges.
      if (node.type != BaseNode::Type::directory) remove_below(files.nodes, path, true);
      files.nodes[path] = std::move(node);
      this_layer.insert(path);
    }
    if (rc != ARCHIVE_EOF) {
      std::fclose(state.file);
      return layer_error(archive_error_string(a.get()));
    }
    // Whatever libarchive did not need is still part of the blob's digest.
    char tail[1 << 16];
    for (std::size_t n; (n = std::fread(tail, 1, sizeof tail, state.file)) > 0;) {
      state.sha.update({tail, n});
      state.size += n;
    }
    std::fclose(state.file);
    const std::string digest = "sha256:" + state.sha.hex_digest();
    if (digest != layer.digest)
      return fail(ErrorKind::runtime,
                  fmt::format("--base {}: layer {} does not match its digest: its content is {}", base.name,
                              layer.digest, digest));
  }
  return files;
}

// ---- the target ----

bool wanted_for_target(std::string_view path, std::string_view env) {
  static const std::regex interesting(
      R"((usr/local/bin|usr/bin|bin)/python3(\.[0-9]+)?)"
      R"(|(usr/local/lib|usr/lib|usr/lib64|lib|lib64)(/[^/]+)?/libpython3\.[0-9]+[^/]*\.so[^/]*)"
      R"(|(.*/)?(libc\.so\.6|ld-musl-[^/]*\.so\.1|libc\.musl-[^/]*\.so\.1))"
      R"(|(usr/local/lib|usr/lib)/python3\.[0-9]+/_sysconfigdata_[^/]*\.py)"
      R"(|(usr/local/lib|usr/lib)/python3\.[0-9]+/venv/scripts/common/activate)");
  if (std::regex_match(path.begin(), path.end(), interesting)) return true;
  // The interpreter's own site directories: what an environment with system site-packages sees.
  static const std::regex system_metadata(
      R"((usr/local/lib|usr/lib|usr/lib64)/python3(\.[0-9]+)?/(site|dist)-packages/[^/]+\.(dist|egg)-info(/[^/]+)?)"
      R"(|(usr/local/lib|usr/lib|usr/lib64)/python3(\.[0-9]+)?/(site|dist)-packages/[^/]+\.pth)");
  if (std::regex_match(path.begin(), path.end(), system_metadata)) return true;
  std::string e(env);
  while (e.starts_with('/')) e.erase(0, 1);
  if (e.empty() || !path.starts_with(e + "/")) return false;
  auto rest = path.substr(e.size() + 1);
  if (rest == "pyvenv.cfg" || rest.starts_with(".strata/owners/")) return true;
  static const std::regex metadata(R"(lib/python3\.[0-9]+/site-packages/[^/]+\.(dist|egg)-info(/[^/]+)?)"
                                   R"(|lib/python3\.[0-9]+/site-packages/[^/]+\.(pth|egg-info))");
  return std::regex_match(rest.begin(), rest.end(), metadata);
}

std::map<std::string, std::string> parse_sysconfigdata(std::string_view text) {
  std::map<std::string, std::string> out;
  static const std::regex item(R"('([A-Za-z_][A-Za-z0-9_]*)':\s*('((?:[^'\\]|\\.)*)'|(-?[0-9]+)))");
  for (std::cregex_iterator it(text.data(), text.data() + text.size(), item), end; it != end; ++it) {
    const auto& m = *it;
    std::string key = m[1].str();
    if (out.contains(key)) continue;
    out[key] = m[3].matched ? m[3].str() : m[4].str();
  }
  return out;
}

namespace {

std::optional<std::string> find_version_string(std::string_view bytes, int major, int minor) {
  // PY_VERSION as a NUL-terminated literal: "3.11.7", "3.13.0rc2".
  const std::regex version(fmt::format(R"(\x00({}\.{}\.[0-9]+(?:(?:a|b|rc)[0-9]+)?\+?)\x00)", major, minor));
  std::cmatch m;
  if (std::regex_search(bytes.data(), bytes.data() + bytes.size(), m, version)) return m[1].str();
  return std::nullopt;
}

}  // namespace

Result<BaseTarget> read_target(const BaseFiles& files, const BaseImage& base) {
  BaseTarget t;
  static const std::regex python_name(R"(python3\.([0-9]+))");
  for (const char* dir : {"usr/local/bin", "usr/bin"}) {
    int best = -1;
    for (auto it = files.nodes.lower_bound(std::string(dir) + "/"); it != files.nodes.end(); ++it) {
      if (!it->first.starts_with(std::string(dir) + "/")) break;
      std::string leaf = it->first.substr(std::string_view(dir).size() + 1);
      std::smatch m;
      if (!std::regex_match(leaf, m, python_name)) continue;
      const BaseNode* node = files.find(it->first);
      if (node == nullptr || node->type != BaseNode::Type::file) continue;
      int minor = std::stoi(m[1].str());
      if (minor > best) {
        best = minor;
        t.python = "/" + it->first;
      }
    }
    if (best >= 0) {
      t.minor = best;
      t.prefix = std::string_view(dir) == "usr/local/bin" ? "/usr/local" : "/usr";
      break;
    }
  }
  if (t.python.empty())
    return fail(
        ErrorKind::usage,
        fmt::format("--base {}: no Python 3 interpreter in the image (looked for /usr/local/bin/python3.X "
                    "and /usr/bin/python3.X)",
                    base.name));
  const std::string xy = fmt::format("{}.{}", t.major, t.minor);
  t.stdlib = fmt::format("{}/lib/python{}", t.prefix, xy);

  // The full version: PY_VERSION in the interpreter or its libpython, else the config's
  // PYTHON_VERSION (python: images set it).
  std::vector<std::string> candidates = {t.python.substr(1)};
  for (const auto& [path, node] : files.nodes)
    if (node.content && path.find("/libpython" + xy) != std::string::npos) candidates.push_back(path);
  for (const auto& c : candidates) {
    const BaseNode* node = files.find(c);
    if (node && node->content)
      if (auto v = find_version_string(*node->content, t.major, t.minor)) {
        t.full_version = *v;
        break;
      }
  }
  if (t.full_version.empty()) {
    for (const auto& e :
         base.config.value("config", nlohmann::json::object()).value("Env", nlohmann::json::array()))
      if (e.is_string() && e.get<std::string>().starts_with("PYTHON_VERSION=" + xy + "."))
        t.full_version = e.get<std::string>().substr(15);
  }
  if (t.full_version.empty())
    return fail(
        ErrorKind::usage,
        fmt::format(
            "--base {}: cannot tell the full version of {} (no version string in it or in libpython{}, "
            "no PYTHON_VERSION in the config)",
            base.name, t.python, xy));

  // The C library.
  static const std::regex glibc_release(R"(release version ([0-9]+)\.([0-9]+))");
  static const std::regex musl_version(R"(\x00(1\.[0-9]+\.[0-9]+)\x00)");
  for (const auto& [path, node] : files.nodes) {
    if (!node.content) continue;
    std::string_view leaf =
        std::string_view(path).substr(path.rfind('/') == std::string::npos ? 0 : path.rfind('/') + 1);
    std::cmatch m;
    const std::string& bytes = *node.content;
    if (leaf == "libc.so.6" && !t.glibc &&
        std::regex_search(bytes.data(), bytes.data() + bytes.size(), m, glibc_release))
      t.glibc = std::pair{std::stoi(m[1].str()), std::stoi(m[2].str())};
    if ((leaf.starts_with("ld-musl-") || leaf.starts_with("libc.musl-")) && !t.musl &&
        std::regex_search(bytes.data(), bytes.data() + bytes.size(), m, musl_version)) {
      auto parts = util::split(m[1].str(), '.');
      t.musl = std::pair{std::stoi(std::string(parts[0])), std::stoi(std::string(parts[1]))};
    }
  }
  if (!t.glibc && !t.musl)
    return fail(ErrorKind::usage,
                fmt::format("--base {}: no glibc (libc.so.6) or musl (ld-musl-*.so.1) found", base.name));

  // sysconfig: the first _sysconfigdata_ of the interpreter's stdlib (Debian has two alike).
  const std::string stdlib = t.stdlib.substr(1);
  for (auto it = files.nodes.lower_bound(stdlib + "/_sysconfigdata_"); it != files.nodes.end(); ++it) {
    if (!it->first.starts_with(stdlib + "/_sysconfigdata_")) break;
    if (it->second.content && it->first.find('/', stdlib.size() + 1) == std::string::npos) {
      t.sysconfig = parse_sysconfigdata(*it->second.content);
      break;
    }
  }
  if (const BaseNode* a = files.find(stdlib + "/venv/scripts/common/activate"); a && a->content)
    t.activate_template = *a->content;
  return t;
}

}  // namespace strata::oci
