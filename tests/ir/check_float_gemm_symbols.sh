#!/bin/sh
# Usage: check_float_gemm_symbols.sh libcim_ir.a
# Fails if the AVX2 / AVX-512 float GEMM objects define a weak or unique symbol (a copy the linker may pick for
# the whole program) outside their own Eigen namespace (cim_eigen_avx2, cim_eigen_avx512).
set -eu
lib=$1
found=0
for member in float_gemm_avx2.cpp.o float_gemm_avx512.cpp.o; do
    syms=$(nm -C --defined-only "$lib" 2>/dev/null | awk -v m="$lib[$member]:" -v m2="$member:" '
        /:$/ { on = ($0 == m || $0 == m2); next }
        on' )
    [ -n "$syms" ] || { echo "no symbols found for $member in $lib"; exit 1; }
    found=1
    # Weak (W, V), unique (u) symbols, minus the namespace of this build, the personality reference,
    # type_info objects (data, the same bytes from every build: UBSan's function checks emit them for function
    # types) and std::bad_alloc's constructor (Eigen's `throw std::bad_alloc()`, kept out of line by the
    # sanitizer build at -O1: it stores the vtable pointer, no vector code).
    bad=$(printf '%s\n' "$syms" | awk '$2 ~ /^[WVu]$/' | grep -v ' cim_eigen_avx\(2\|512\)::' | grep -v ' typeinfo \(name \)\?for ' |
          grep -v ' std::bad_alloc::bad_alloc()$' |
          grep -v 'for cim_eigen_avx\(2\|512\)::' | grep -v 'DW.ref.__gxx_personality_v0' || true)
    if [ -n "$bad" ]; then
        echo "$member defines shared symbols outside its Eigen namespace:"
        printf '%s\n' "$bad"
        exit 1
    fi
done
[ "$found" = 1 ] && echo "float GEMM builds: shared symbols only in their own Eigen namespaces"
