#pragma once
// Each command: a plain options struct, a function that registers its flags with CLI11 (no work
// in callbacks), and a run function called after parsing.

#include <string>

#include <CLI/CLI.hpp>

#include "cli/console.hpp"

namespace strata::cli {}  // namespace strata::cli
