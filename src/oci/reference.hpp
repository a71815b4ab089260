#pragma once
// Image references (REGISTRY/REPO[:TAG|@DIGEST]), parsed as docker and the distribution spec
// spell them.

#include <string>
#include <string_view>

#include "util/error.hpp"

namespace strata::oci {

/// A reference to an image in a registry.
struct Reference {
  std::string registry;    ///< "127.0.0.1:5000", "ghcr.io"; Docker Hub is "registry-1.docker.io"
  std::string repository;  ///< "team/app" (Docker Hub's one-component names get "library/")
  std::string tag;         ///< "" when only a digest was given
  std::string digest;      ///< "sha256:<64 hex>" or ""

  /// Parses REGISTRY/REPO[:TAG][@DIGEST]; without a registry part (no "." or ":" in the first
  /// component, not "localhost") Docker Hub; without tag or digest the tag "latest". A usage
  /// error naming the text otherwise.
  static Result<Reference> parse(std::string_view text);
  /// "registry/repository[:tag][@digest]".
  std::string str() const;
  /// The tag, else the digest: what /v2/<name>/manifests/<reference> takes.
  std::string manifest_reference() const { return digest.empty() ? tag : digest; }
};

/// Reference::parse.
inline Result<Reference> parse_reference(std::string_view text) { return Reference::parse(text); }

/// True for "sha256:<64 lower-case hex>", the only digest algorithm strata accepts.
bool is_sha256_digest(std::string_view digest);

}  // namespace strata::oci
