// doctest's main(), compiled once and linked into every test binary (cim_doctest_main).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
