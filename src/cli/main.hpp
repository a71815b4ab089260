#pragma once

namespace strata {

/// The whole program: parse the command line, run one command, map errors to exit codes.
int main(int argc, char** argv);

}  // namespace strata
