#include "oci/registry.hpp"

#include <deque>
#include <fstream>
#include <map>
#include <mutex>
#include <set>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "fetch/hash.hpp"
#include "oci/layout.hpp"
#include "oci/reference.hpp"
#include "oci/registry_auth.hpp"
#include "support/tempdir.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"
#include "util/url.hpp"

namespace strata::oci {
namespace {

namespace fs = std::filesystem;
using fetch::ExchangeRequest;
using fetch::ExchangeResponse;
using nlohmann::json;

std::string sha(std::string_view data) {
  fetch::Sha256 h;
  h.update(data);
  return "sha256:" + h.hex_digest();
}

fetch::EnvLookup fake_env(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

void write(const fs::path& path, std::string_view text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

// An in-memory distribution-spec registry, as much as the client uses. Thread-safe.
class FakeRegistry {
 public:
  enum class Auth { none, basic, bearer };
  Auth auth = Auth::none;
  std::string user = "ci", password = "s3cret";
  std::map<std::string, std::string> blobs;                 // digest → bytes
  std::map<std::string, std::set<std::string>> repo_blobs;  // repo → digests
  std::map<std::string, std::map<std::string, std::pair<std::string, std::string>>>
      manifests;                          // repo → ref → (type, body)
  std::map<std::string, int> fail_next;   // "METHOD path-prefix" → how many 500s to answer first
  std::map<std::string, int> status_for;  // "METHOD path-prefix" → a fixed status
  std::set<std::string> corrupt;          // digests served with wrong bytes
  std::vector<std::string> log;           // "METHOD /path?query"
  int token_requests = 0;

  bool https_down = false;       // https connections fail (a plain-http registry)
  std::vector<bool> verify_tls;  // per request
  ExchangeResponse handle(const ExchangeRequest& request, fetch::ResponseSink& sink) {
    std::lock_guard lock(mutex_);
    ExchangeResponse r;
    r.id = request.id;
    r.effective_url = request.url;
    verify_tls.push_back(request.verify_tls);
    if (https_down && request.url.starts_with("https://")) {
      r.status = fetch::TransferStatus::connection_error;
      r.error = "wrong version number";
      return r;
    }
    auto parts = util::UrlParts::parse(request.url);
    std::string path = parts->path, query = parts->query;
    if (parts->authority == "auth.test") {
      ++token_requests;
      log.push_back("TOKEN " + query);
      if (request.username != user || request.password != password) return status(r, 401);
      body(r, sink, json({{"token", "tok-" + query}}).dump());
      return status(r, 200);
    }
    log.push_back(request.method + " " + path + (query.empty() ? "" : "?" + query));
    for (auto& [key, n] : fail_next)
      if (n > 0 && (request.method + " " + path).starts_with(key)) {
        --n;
        return status(r, 500);
      }
    for (auto& [key, code] : status_for)
      if ((request.method + " " + path).starts_with(key)) return status(r, code);
    if (auth == Auth::basic && (request.username != user || request.password != password)) {
      r.headers.emplace_back("www-authenticate", "Basic realm=\"fake\"");
      return status(r, 401);
    }
    if (auth == Auth::bearer) {
      bool ok = std::any_of(request.headers.begin(), request.headers.end(),
                            [](const std::string& h) { return h.starts_with("Authorization: Bearer tok-"); });
      if (!ok) {
        r.headers.emplace_back(
            "www-authenticate",
            "Bearer realm=\"https://auth.test/token\",service=\"fake\",scope=\"repository:x:pull\"");
        return status(r, 401);
      }
    }
    if (path == "/v2/") return status(r, 200);
    // /v2/<repo>/(blobs|manifests)/<ref>, /v2/<repo>/blobs/uploads/[<id>]
    auto rest = path.substr(4);
    if (auto at = rest.find("/blobs/uploads/"); at != std::string::npos) {
      std::string repo = rest.substr(0, at), id = rest.substr(at + 15);
      auto q = query_params(query);
      if (request.method == "POST" && q.contains("mount")) {
        auto from = q["from"];
        if (repo_blobs[from].contains(q["mount"])) {
          repo_blobs[repo].insert(q["mount"]);
          return status(r, 201);
        }
      }
      if (request.method == "POST") {
        std::string new_id = fmt::format("u{}", next_upload_++);
        uploads_[new_id] = "";
        r.headers.emplace_back("location", fmt::format("/v2/{}/blobs/uploads/{}?state=x", repo, new_id));
        return status(r, 202);
      }
      if (!uploads_.contains(id)) return status(r, 404);
      std::string data = request.body ? read_body(*request.body) : "";
      if (request.method == "PATCH") {
        uploads_[id] += data;
        r.headers.emplace_back("location", fmt::format("/v2/{}/blobs/uploads/{}?state=y", repo, id));
        return status(r, 202);
      }
      if (request.method == "PUT") {
        uploads_[id] += data;
        auto digest = q["digest"];
        if (sha(uploads_[id]) != digest) return status(r, 400);
        blobs[digest] = uploads_[id];
        repo_blobs[repo].insert(digest);
        uploads_.erase(id);
        return status(r, 201);
      }
    }
    if (auto at = rest.find("/blobs/"); at != std::string::npos) {
      std::string repo = rest.substr(0, at), digest = rest.substr(at + 7);
      if (!repo_blobs[repo].contains(digest)) return status(r, 404);
      if (request.method == "GET")
        body(r, sink, corrupt.contains(digest) ? blobs[digest] + "x" : blobs[digest]);
      return status(r, 200);
    }
    if (auto at = rest.find("/manifests/"); at != std::string::npos) {
      std::string repo = rest.substr(0, at), ref = rest.substr(at + 11);
      if (request.method == "PUT") {
        std::string data = read_body(*request.body);
        std::string type = request.headers.front().substr(14);
        for (const auto& b : blob_digests(data))
          if (!repo_blobs[repo].contains(b)) return status(r, 400);  // MANIFEST_BLOB_UNKNOWN
        manifests[repo][ref] = {type, data};
        manifests[repo][sha(data)] = {type, data};
        r.headers.emplace_back("docker-content-digest", sha(data));
        return status(r, 201);
      }
      auto it = manifests[repo].find(ref);
      if (it == manifests[repo].end()) return status(r, 404);
      r.headers.emplace_back("docker-content-digest", sha(it->second.second));
      r.content_type = it->second.first;
      if (request.method == "GET") body(r, sink, it->second.second);
      return status(r, 200);
    }
    return status(r, 404);
  }

  std::size_t count(std::string_view method) const {
    return static_cast<std::size_t>(std::count_if(log.begin(), log.end(), [&](const std::string& l) {
      return l.starts_with(std::string(method) + " ");
    }));
  }

 private:
  static ExchangeResponse status(ExchangeResponse& r, int code) {
    r.http_status = code;
    return r;
  }
  static void body(ExchangeResponse& r, fetch::ResponseSink& sink, const std::string& data) {
    if (!sink.write(data)) r.status = fetch::TransferStatus::aborted;
    r.body_bytes = data.size();
  }
  static std::map<std::string, std::string> query_params(const std::string& query) {
    std::map<std::string, std::string> out;
    for (auto piece : util::split(query, '&')) {
      auto eq = piece.find('=');
      if (eq != std::string_view::npos)
        out[std::string(piece.substr(0, eq))] = util::percent_decode(piece.substr(eq + 1));
    }
    return out;
  }
  static std::string read_body(const fetch::RequestBody& b) {
    if (b.file.empty()) return b.data;
    std::ifstream in(b.file, std::ios::binary);
    in.seekg(static_cast<std::streamoff>(b.offset));
    std::string data(b.length, '\0');
    in.read(data.data(), static_cast<std::streamsize>(b.length));
    return data;
  }
  static std::vector<std::string> blob_digests(const std::string& manifest) {
    auto doc = json::parse(manifest);
    std::vector<std::string> out{doc["config"]["digest"].get<std::string>()};
    for (const auto& l : doc["layers"]) out.push_back(l["digest"].get<std::string>());
    return out;
  }
  std::mutex mutex_;
  std::map<std::string, std::string> uploads_;
  int next_upload_ = 0;
};

class FakeRegistryTransport final : public fetch::ExchangeTransport {
 public:
  explicit FakeRegistryTransport(FakeRegistry& registry) : registry_(registry) {}
  void start(const ExchangeRequest& request, fetch::ResponseSink& sink) override {
    done_.push_back(registry_.handle(request, sink));
  }
  std::vector<ExchangeResponse> wait(std::chrono::milliseconds) override {
    std::vector<ExchangeResponse> out(done_.begin(), done_.end());
    done_.clear();
    return out;
  }

 private:
  FakeRegistry& registry_;
  std::deque<ExchangeResponse> done_;
};

TransportFactory factory(FakeRegistry& registry) {
  return [&registry] { return std::make_unique<FakeRegistryTransport>(registry); };
}

RegistryOptions fast_options() {
  RegistryOptions o;
  o.retry.base_delay = std::chrono::milliseconds(1);
  o.retry.max_delay = std::chrono::milliseconds(2);
  o.parallelism = 3;
  return o;
}

// Writes an OCI layout with one image: a config and the given layers.
std::string write_layout(const fs::path& dir, const std::vector<std::string>& layers,
                         std::string config = "{}") {
  auto put = [&](const std::string& data) {
    write(dir / "blobs" / "sha256" / sha(data).substr(7), data);
    return sha(data);
  };
  json manifest = {{"schemaVersion", 2},
                   {"mediaType", kOciManifest},
                   {"config", {{"mediaType", kOciConfig}, {"digest", put(config)}, {"size", config.size()}}},
                   {"layers", json::array()}};
  for (const auto& l : layers)
    manifest["layers"].push_back({{"mediaType", kOciLayerGzip}, {"digest", put(l)}, {"size", l.size()}});
  std::string text = manifest.dump();
  std::string digest = put(text);
  write(dir / "index.json",
        json({{"schemaVersion", 2},
              {"manifests", {{{"mediaType", kOciManifest}, {"digest", digest}, {"size", text.size()}}}}})
            .dump());
  write(dir / "oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
  return digest;
}

TEST(OciReference, ParsesRegistryRepositoryTagAndDigest) {
  auto r = Reference::parse("127.0.0.1:5000/team/app:v1");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->registry, "127.0.0.1:5000");
  EXPECT_EQ(r->repository, "team/app");
  EXPECT_EQ(r->tag, "v1");
  auto hub = Reference::parse("python:3.12-slim");
  ASSERT_TRUE(hub);
  EXPECT_EQ(hub->registry, "registry-1.docker.io");
  EXPECT_EQ(hub->repository, "library/python");
  std::string d = "sha256:" + std::string(64, 'a');
  auto pinned = Reference::parse("localhost/app@" + d);
  ASSERT_TRUE(pinned);
  EXPECT_EQ(pinned->tag, "");
  EXPECT_EQ(pinned->digest, d);
  EXPECT_EQ(pinned->manifest_reference(), d);
  EXPECT_EQ(Reference::parse("reg.io/app").value().tag, "latest");
  EXPECT_FALSE(Reference::parse("reg.io/App:x"));
  EXPECT_FALSE(Reference::parse("reg.io/app@sha256:abc"));
  EXPECT_FALSE(Reference::parse("reg.io/app:"));
}

TEST(OciReference, ParsesPlatforms) {
  auto p = parse_platform("linux/arm64/v8");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->architecture, "arm64");
  EXPECT_EQ(p->variant, "v8");
  EXPECT_FALSE(parse_platform("linux"));
  EXPECT_FALSE(parse_platform("linux//"));
}

TEST(RegistryAuth, ParsesBearerChallenge) {
  auto c = parse_challenge(
      R"(Bearer realm="https://auth.io/token",service="registry.io",scope="repository:a/b:pull,push")");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->scheme, "bearer");
  EXPECT_EQ(c->params["realm"], "https://auth.io/token");
  EXPECT_EQ(c->params["service"], "registry.io");
  EXPECT_EQ(c->params["scope"], "repository:a/b:pull,push");
  EXPECT_EQ(parse_challenge("Basic realm=x")->scheme, "basic");
}

TEST(RegistryAuth, Base64DecodesDockerAuth) {
  EXPECT_EQ(base64_decode("Y2k6czNjcmV0").value(), "ci:s3cret");
  EXPECT_EQ(base64_decode("YQ==").value(), "a");
  EXPECT_FALSE(base64_decode("Y*"));
}

TEST(RegistryAuth, ReadsDockerConfigAuthsAndPrefersRepositoryKeys) {
  testing::TempDir tmp;
  write(
      tmp.path() / ".docker" / "config.json",
      R"({"auths": {"reg.io": {"auth": "Y2k6czNjcmV0"}, "reg.io/team": {"username": "t", "password": "p"}}})");
  auto env = fake_env({{"HOME", tmp.path().string()}});
  auto c = find_registry_credentials("reg.io", "other", std::nullopt, env);
  ASSERT_TRUE(c && *c);
  EXPECT_EQ((*c)->username, "ci");
  EXPECT_EQ((*c)->password, "s3cret");
  EXPECT_NE((*c)->origin.find("config.json"), std::string::npos);
  EXPECT_EQ((*c)->origin.find("s3cret"), std::string::npos);
  auto team = find_registry_credentials("reg.io", "team/app", std::nullopt, env);
  EXPECT_EQ((*team)->username, "t");
  auto none = find_registry_credentials("other.io", "x", std::nullopt, env);
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
}

TEST(RegistryAuth, AuthFileOrderAndCredsFile) {
  testing::TempDir tmp;
  write(tmp.path() / "auth.json", R"({"auths": {"reg.io": {"auth": "YTpi"}}})");
  write(tmp.path() / ".docker" / "config.json", R"({"auths": {"reg.io": {"auth": "Y2k6czNjcmV0"}}})");
  write(tmp.path() / "line", "bot:tok\n");
  auto env =
      fake_env({{"HOME", tmp.path().string()}, {"REGISTRY_AUTH_FILE", (tmp.path() / "auth.json").string()}});
  EXPECT_EQ(find_registry_credentials("reg.io", "x", std::nullopt, env).value()->username, "a");
  auto file = find_registry_credentials("reg.io", "x", tmp.path() / "line", env);
  ASSERT_TRUE(file && *file);
  EXPECT_EQ((*file)->username, "bot");
  EXPECT_EQ((*file)->password, "tok");
  auto missing = find_registry_credentials("other.io", "x", tmp.path() / "auth.json", env);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("no \"auths\" entry for other.io"), std::string::npos);
}

TEST(RegistryAuth, CredentialHelpersAreRefusedClearly) {
  testing::TempDir tmp;
  write(tmp.path() / ".docker" / "config.json", R"({"auths": {}, "credHelpers": {"reg.io": "ecr-login"}})");
  auto c = find_registry_credentials("reg.io", "x", std::nullopt, fake_env({{"HOME", tmp.path().string()}}));
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("docker-credential-ecr-login"), std::string::npos);
  EXPECT_NE(c.error().message.find("--creds-file"), std::string::npos);
}

TEST(Registry, PushUploadsThenRepushOnlyHeads) {
  testing::TempDir tmp;
  FakeRegistry reg;
  auto digest = write_layout(tmp.path() / "img", {"layer-one", "layer-two"});
  RegistryClient client(factory(reg), fast_options(), fake_env({}));
  auto ref = Reference::parse("127.0.0.1:5000/app:v1").value();
  auto first = client.push(tmp.path() / "img", ref);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->manifest.digest, digest);
  ASSERT_EQ(first->blobs.size(), 3u);
  for (const auto& b : first->blobs) EXPECT_EQ(b.action, BlobAction::uploaded);
  EXPECT_EQ(first->bytes_uploaded, 2u + 9u + 9u);
  EXPECT_EQ(reg.manifests["app"]["v1"].second.size(), first->manifest.size);
  reg.log.clear();
  auto again = client.push(tmp.path() / "img", ref);
  ASSERT_TRUE(again) << again.error().message;
  for (const auto& b : again->blobs) EXPECT_EQ(b.action, BlobAction::skipped);
  EXPECT_EQ(again->manifest_action, BlobAction::skipped);
  EXPECT_EQ(reg.log.size(), reg.count("HEAD"));
  EXPECT_EQ(reg.count("HEAD"), 4u);  // three blobs and the manifest
}

TEST(Registry, ChangedLayerUploadsOnlyItConfigAndManifest) {
  testing::TempDir tmp;
  FakeRegistry reg;
  RegistryClient client(factory(reg), fast_options(), fake_env({}));
  auto ref = Reference::parse("127.0.0.1:5000/app:v1").value();
  write_layout(tmp.path() / "a", {"base", "deps-1"}, R"({"v":1})");
  ASSERT_TRUE(client.push(tmp.path() / "a", ref));
  write_layout(tmp.path() / "b", {"base", "deps-2"}, R"({"v":2})");
  reg.log.clear();
  auto r = client.push(tmp.path() / "b", ref);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->blobs[0].action, BlobAction::uploaded);  // config
  EXPECT_EQ(r->blobs[1].action, BlobAction::skipped);
  EXPECT_EQ(r->blobs[2].action, BlobAction::uploaded);
  EXPECT_EQ(reg.count("PUT"), 3u);  // two blobs and the manifest
  EXPECT_EQ(reg.log.back().substr(0, 22), "PUT /v2/app/manifests/");
}

TEST(Registry, MountsBlobSeenInAnotherRepository) {
  testing::TempDir tmp;
  FakeRegistry reg;
  std::string base = "base-layer";
  reg.blobs[sha(base)] = base;
  reg.repo_blobs["library/python"].insert(sha(base));
  RegistryClient client(factory(reg), fast_options(), fake_env({}));
  client.note_blob_source(sha(base), "127.0.0.1:5000", "library/python");
  write_layout(tmp.path() / "img", {base, "mine"});
  auto r = client.push(tmp.path() / "img", Reference::parse("127.0.0.1:5000/app:v1").value());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->blobs[1].action, BlobAction::mounted);
  EXPECT_EQ(r->blobs[1].mounted_from, "127.0.0.1:5000/library/python");
  EXPECT_EQ(r->blobs[1].bytes, 0u);
  EXPECT_TRUE(reg.repo_blobs["app"].contains(sha(base)));
}

TEST(Registry, LargeBlobGoesUpInPatchChunks) {
  testing::TempDir tmp;
  FakeRegistry reg;
  auto options = fast_options();
  options.monolithic_max = 10;
  options.chunk_size = 4;
  RegistryClient client(factory(reg), options, fake_env({}));
  std::string big = "0123456789abcdef-big";  // 20 bytes: 5 chunks
  write_layout(tmp.path() / "img", {big});
  auto r = client.push(tmp.path() / "img", Reference::parse("127.0.0.1:5000/app:v1").value());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(reg.count("PATCH"), 5u);
  EXPECT_EQ(reg.blobs[sha(big)], big);
}

TEST(Registry, ServerErrorsAreRetriedClientErrorsAreNot) {
  testing::TempDir tmp;
  FakeRegistry reg;
  reg.fail_next["PUT /v2/app/blobs/uploads/"] = 2;
  write_layout(tmp.path() / "img", {"one"});
  RegistryClient client(factory(reg), fast_options(), fake_env({}));
  auto ok = client.push(tmp.path() / "img", Reference::parse("127.0.0.1:5000/app:v1").value());
  ASSERT_TRUE(ok) << ok.error().message;

  FakeRegistry denied;
  denied.status_for["POST /v2/app/blobs/uploads/"] = 403;
  RegistryClient client2(factory(denied), fast_options(), fake_env({}));
  auto bad = client2.push(tmp.path() / "img", Reference::parse("127.0.0.1:5000/app:v1").value());
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("HTTP 403"), std::string::npos) << bad.error().message;
  EXPECT_NE(bad.error().message.find("the manifest was not pushed"), std::string::npos);
  EXPECT_GE(denied.count("POST"), 1u);  // at most once per blob (config, layer): a 403 is not retried
  EXPECT_LE(denied.count("POST"), 2u);
  EXPECT_EQ(denied.count("PUT"), 0u);
  EXPECT_TRUE(denied.manifests["app"].empty());
}

TEST(Registry, BasicAuthAnd401WithoutCredentials) {
  testing::TempDir tmp;
  FakeRegistry reg;
  reg.auth = FakeRegistry::Auth::basic;
  write_layout(tmp.path() / "img", {"one"});
  auto ref = Reference::parse("127.0.0.1:5000/app:v1").value();
  {
    RegistryClient anonymous(factory(reg), fast_options(), fake_env({{"HOME", tmp.path().string()}}));
    auto r = anonymous.push(tmp.path() / "img", ref);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("requires credentials"), std::string::npos) << r.error().message;
  }
  write(tmp.path() / "creds", "ci:s3cret");
  auto options = fast_options();
  options.creds_file = tmp.path() / "creds";
  RegistryClient client(factory(reg), options, fake_env({}));
  auto r = client.push(tmp.path() / "img", ref);
  ASSERT_TRUE(r) << r.error().message;
  write(tmp.path() / "wrong", "ci:nope");
  options.creds_file = tmp.path() / "wrong";
  RegistryClient wrong(factory(reg), options, fake_env({}));
  auto w = wrong.push(tmp.path() / "img", ref);
  ASSERT_FALSE(w);
  EXPECT_NE(w.error().message.find("were not accepted"), std::string::npos) << w.error().message;
  EXPECT_EQ(w.error().message.find("nope"), std::string::npos);
}

TEST(Registry, BearerTokenFetchedOncePerScope) {
  testing::TempDir tmp;
  FakeRegistry reg;
  reg.auth = FakeRegistry::Auth::bearer;
  write_layout(tmp.path() / "img", {"one", "two", "three"});
  write(tmp.path() / "creds", R"({"auths": {"127.0.0.1:5000": {"username": "ci", "password": "s3cret"}}})");
  auto options = fast_options();
  options.creds_file = tmp.path() / "creds";
  RegistryClient client(factory(reg), options, fake_env({}));
  auto r = client.push(tmp.path() / "img", Reference::parse("127.0.0.1:5000/app:v1").value());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(reg.token_requests, 1);
  EXPECT_NE(reg.log[1].find("scope=repository%3Aapp%3Apull%2Cpush"), std::string::npos) << reg.log[1];
}

TEST(Registry, PullResolvesIndexToPlatformAndVerifiesBlobs) {
  testing::TempDir tmp;
  FakeRegistry source;
  RegistryClient pusher(factory(source), fast_options(), fake_env({}));
  auto arm = write_layout(tmp.path() / "arm", {"arm-layer"}, R"({"architecture":"arm64"})");
  auto amd = write_layout(tmp.path() / "amd", {"amd-layer"}, R"({"architecture":"amd64"})");
  ASSERT_TRUE(pusher.push(tmp.path() / "arm", Reference::parse("127.0.0.1:5000/base@" + arm).value()));
  ASSERT_TRUE(pusher.push(tmp.path() / "amd", Reference::parse("127.0.0.1:5000/base@" + amd).value()));
  auto size_of = [&](const std::string& d) { return source.manifests["base"][d].second.size(); };
  json index = {{"schemaVersion", 2},
                {"mediaType", kOciIndex},
                {"manifests",
                 {{{"mediaType", kOciManifest},
                   {"digest", amd},
                   {"size", size_of(amd)},
                   {"platform", {{"os", "linux"}, {"architecture", "amd64"}}}},
                  {{"mediaType", kOciManifest},
                   {"digest", arm},
                   {"size", size_of(arm)},
                   {"platform", {{"os", "linux"}, {"architecture", "arm64"}, {"variant", "v8"}}}}}}};
  source.manifests["base"]["3"] = {std::string(kOciIndex), index.dump()};

  RegistryClient client(factory(source), fast_options(), fake_env({}));
  auto ref = Reference::parse("127.0.0.1:5000/base:3").value();
  auto r = client.pull(ref, parse_platform("linux/arm64").value(), tmp.path() / "layout");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->manifest.digest, arm);
  EXPECT_TRUE(fs::exists(tmp.path() / "layout" / "blobs" / "sha256" / sha("arm-layer").substr(7)));
  EXPECT_FALSE(fs::exists(tmp.path() / "layout" / "blobs" / "sha256" / sha("amd-layer").substr(7)));
  auto layout_index = json::parse(util::read_file(tmp.path() / "layout" / "index.json").value());
  EXPECT_EQ(layout_index["manifests"][0]["digest"], arm);
  EXPECT_EQ(layout_index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"], ref.str());
  auto again = client.pull(ref, parse_platform("linux/arm64").value(), tmp.path() / "layout");
  ASSERT_TRUE(again);
  for (const auto& b : again->blobs) EXPECT_EQ(b.action, BlobAction::cached);

  auto none = client.pull(ref, parse_platform("linux/s390x").value(), tmp.path() / "other");
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().message.find("linux/amd64, linux/arm64/v8"), std::string::npos)
      << none.error().message;

  source.corrupt.insert(sha("amd-layer"));
  auto bad = client.pull(ref, parse_platform("linux/amd64").value(), tmp.path() / "bad");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("nothing of it was kept"), std::string::npos) << bad.error().message;
  EXPECT_FALSE(fs::exists(tmp.path() / "bad" / "blobs" / "sha256" / sha("amd-layer").substr(7)));
  EXPECT_FALSE(fs::exists(tmp.path() / "bad" / "index.json"));
  std::size_t leftovers = 0;
  for (const auto& e : fs::directory_iterator(tmp.path() / "bad" / "blobs" / "sha256"))
    leftovers += e.path().filename().string().starts_with(".tmp");
  EXPECT_EQ(leftovers, 0u);
}

TEST(Registry, PullRecordsSourcesSoPushMountsAcrossRuns) {
  testing::TempDir tmp;
  FakeRegistry reg;
  auto options = fast_options();
  options.blob_sources_file = tmp.path() / "sources.json";
  RegistryClient pusher(factory(reg), fast_options(), fake_env({}));
  write_layout(tmp.path() / "base", {"base-layer"});
  ASSERT_TRUE(pusher.push(tmp.path() / "base", Reference::parse("127.0.0.1:5000/python:3").value()));
  {
    RegistryClient puller(factory(reg), options, fake_env({}));
    ASSERT_TRUE(puller.pull(Reference::parse("127.0.0.1:5000/python:3").value(), host_platform(),
                            tmp.path() / "cache"));
  }
  write_layout(tmp.path() / "img", {"base-layer", "app"});
  RegistryClient next_run(factory(reg), options, fake_env({}));
  auto r = next_run.push(tmp.path() / "img", Reference::parse("127.0.0.1:5000/app:1").value());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->blobs[1].action, BlobAction::mounted);
}

TEST(Registry, PlainHttpOnlyForLoopbackAndInsecureRegistries) {
  testing::TempDir tmp;
  write_layout(tmp.path() / "img", {"one"});
  FakeRegistry reg;
  reg.https_down = true;
  RegistryClient loopback(factory(reg), fast_options(), fake_env({}));
  auto ok = loopback.push(tmp.path() / "img", Reference::parse("localhost:5000/app:1").value());
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_TRUE(std::all_of(reg.verify_tls.begin(), reg.verify_tls.end(), [](bool v) { return v; }));

  std::size_t before = reg.log.size();  // the fake logs only what got through (http)
  RegistryClient remote(factory(reg), fast_options(), fake_env({}));
  auto refused = remote.push(tmp.path() / "img", Reference::parse("reg.example/app:1").value());
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("--insecure-registry"), std::string::npos)
      << refused.error().message;
  EXPECT_EQ(reg.log.size(), before);  // nothing was sent to it over http

  auto options = fast_options();
  options.insecure_registries = {"reg.example"};
  reg.verify_tls.clear();
  RegistryClient insecure(factory(reg), options, fake_env({}));
  auto allowed = insecure.push(tmp.path() / "img", Reference::parse("reg.example/other:1").value());
  ASSERT_TRUE(allowed) << allowed.error().message;
  EXPECT_FALSE(reg.verify_tls.front());  // TLS not verified for a registry named insecure
}

}  // namespace
}  // namespace strata::oci
