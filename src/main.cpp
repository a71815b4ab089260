#include "cli/main.hpp"

int main(int argc, char** argv) { return strata::main(argc, argv); }
