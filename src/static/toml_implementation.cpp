// The release build only (STRATA_STATIC): toml++'s compiled part, which the normal build takes from
// Debian's libtomlplusplus.so. Debian ships no static archive of it, so the implementation is
// compiled here from the installed headers, as toml++'s own src/toml.cpp does.
#define TOML_IMPLEMENTATION
#include <toml++/toml.h>
