// Chooses the executor's float GEMM build once per process (float_gemm.h).
#include "float_gemm.h"

#include <cim/error.h>

#include <cstdlib>
#include <string>

namespace cim::kern {

const char* float_gemm_path_name(FloatGemmPath path) {
    switch (path) {
        case FloatGemmPath::Baseline: return "baseline";
        case FloatGemmPath::Avx2: return "avx2";
        case FloatGemmPath::Avx512: return "avx512";
    }
    return "?";
}

FloatGemmPath parse_float_gemm_path(std::string_view value) {
    for (FloatGemmPath p : {FloatGemmPath::Baseline, FloatGemmPath::Avx2, FloatGemmPath::Avx512})
        if (value == float_gemm_path_name(p)) return p;
    throw InputError("CIM_FLOAT_GEMM=" + std::string(value) +
                     ": unknown float GEMM path; use baseline, avx2 or avx512 (or unset it for the widest the CPU has)");
}

bool float_gemm_path_supported(FloatGemmPath path) {
    if (path == FloatGemmPath::Baseline) return true;
#if defined(CIM_FLOAT_GEMM_X86)
    __builtin_cpu_init();
    const bool fma = __builtin_cpu_supports("fma");
    if (path == FloatGemmPath::Avx2) return fma && __builtin_cpu_supports("avx2");
    return fma && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
#else
    return false;  // built for another architecture: only the portable build exists
#endif
}

FloatGemmFn float_gemm_kernel(FloatGemmPath path) {
    if (!float_gemm_path_supported(path))
        throw InputError(std::string("CIM_FLOAT_GEMM=") + float_gemm_path_name(path) + ": this CPU (or build) lacks " +
                         (path == FloatGemmPath::Avx2 ? "AVX2 with FMA" : "AVX-512 F/BW/DQ/VL with FMA") +
                         "; use a narrower path or unset it");
    switch (path) {
        case FloatGemmPath::Baseline: return float_gemm_baseline;
#if defined(CIM_FLOAT_GEMM_X86)
        case FloatGemmPath::Avx2: return float_gemm_avx2;
        case FloatGemmPath::Avx512: return float_gemm_avx512;
#else
        default: break;
#endif
    }
    return float_gemm_baseline;
}

namespace {

FloatGemmPath choose_path() {
    const char* forced = std::getenv("CIM_FLOAT_GEMM");
    if (forced && *forced) {
        const FloatGemmPath p = parse_float_gemm_path(forced);
        float_gemm_kernel(p);  // throws if the CPU lacks it
        return p;
    }
    for (FloatGemmPath p : {FloatGemmPath::Avx512, FloatGemmPath::Avx2})
        if (float_gemm_path_supported(p)) return p;
    return FloatGemmPath::Baseline;
}

}  // namespace

// A throwing initializer leaves the static unset, so a bad CIM_FLOAT_GEMM is reported on every call.
FloatGemmPath float_gemm_path() {
    static const FloatGemmPath path = choose_path();
    return path;
}

}  // namespace cim::kern
