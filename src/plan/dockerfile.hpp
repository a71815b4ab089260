#pragma once
// The Dockerfile text `strata plan` writes: DIR/Dockerfile.layers (one COPY and one cached RUN
// per layer manifest, ending with the whole-lock install that must be a no-op) and, from the
// application's own Dockerfile, a complete one. Pure text; the caller writes the files.

#include <string>
#include <string_view>
#include <vector>

#include "plan/layers.hpp"
#include "util/error.hpp"

namespace strata::plan {

/// How the generated steps look.
struct DockerfileOptions {
  std::string layers_dir;  ///< the plan directory as the build context sees it ("layers")
  std::vector<std::string>
      lock_files;                 ///< the lock's files in the build context (poetry.lock, pyproject.toml)
  std::string env = "/opt/venv";  ///< the environment inside the image
  std::string strata = "strata";  ///< the strata command in RUN steps
  std::string strata_image;       ///< when set: bind-mount this image's tree at /opt/strata instead
  std::vector<std::string> selection;  ///< selection flags repeated in the final check (--only ...)
  std::vector<std::string> secrets;    ///< lock source names whose credentials come as build secrets
};

/// The fragment: for every layer, bottom first, `COPY <dir>/NN-<name>.toml /strata/layers/` and a
/// `RUN --mount=type=cache,...` of `strata install --layer`, then the lock and `strata install`
/// of the whole lock as the check that the layers add up to it.
std::string dockerfile_fragment(const LayerPlan& plan, const DockerfileOptions& options);

/// A complete Dockerfile from the application's: the fragment goes right after the last
/// `WORKDIR` that follows the last `FROM` (or after that `FROM`), so the application's COPY steps
/// come after the layers. Usage error naming `source_name` when the text has no FROM.
Result<std::string> complete_dockerfile(std::string_view app_dockerfile, std::string_view source_name,
                                        std::string_view fragment);

}  // namespace strata::plan
