// Counter-based random streams (read_kernels.h).
#include "read_kernels.h"

#include <cmath>

#define CIM_SIMD_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))

namespace cim::sim::detail {

namespace {

// n (even) standard normals from the counter-based stream (key, first..first+n): Box-Muller with
// polynomial log and sin/cos so that the loop vectorizes (errors below 1e-6, far below
// any noise level a device description can state).
CIM_SIMD_CLONES
void normals_at_pairs(uint64_t key, uint64_t first, float* __restrict cos_out, float* __restrict sin_out, int64_t half) {
    // 32-bit arithmetic throughout (murmur3's finalizer on key + counter) so that the loop
    // vectorizes without 64-bit vector multiplies.
    const uint32_t k1 = uint32_t(key), k2 = uint32_t(key >> 32) ^ 0x5BD1E995u;
    const uint32_t c0 = uint32_t(first / 2);
    for (int64_t i = 0; i < half; ++i) {
        uint32_t ha = (c0 + uint32_t(i)) * 0x9E3779B9u + k1, hb = (c0 + uint32_t(i)) * 0x85EBCA6Bu + k2;
        ha ^= ha >> 16; ha *= 0x85EBCA6Bu; ha ^= ha >> 13; ha *= 0xC2B2AE35u; ha ^= ha >> 16;
        hb ^= hb >> 16; hb *= 0x85EBCA6Bu; hb ^= hb >> 13; hb *= 0xC2B2AE35u; hb ^= hb >> 16;
        const float u1 = (float(int32_t(ha >> 8)) + 0.5f) * (1.0f / 16777216.0f);  // (0, 1)
        const float u2 = float(int32_t(hb >> 8)) * (1.0f / 16777216.0f);           // [0, 1)
        // ln(u1) = e ln 2 + ln(m), m in [1, 2): ln m = 2 atanh(t), t = (m - 1) / (m + 1) <= 1/3.
        int32_t bits;
        __builtin_memcpy(&bits, &u1, 4);
        const float e = float(((bits >> 23) & 255) - 127);
        const int32_t mbits = (bits & 0x7FFFFF) | 0x3F800000;
        float m;
        __builtin_memcpy(&m, &mbits, 4);
        const float t = (m - 1.0f) / (m + 1.0f), t2 = t * t;
        const float lnm = 2.0f * t * (1.0f + t2 * (1.0f / 3 + t2 * (1.0f / 5 + t2 * (1.0f / 7 + t2 * (1.0f / 9 + t2 * (1.0f / 11))))));
        const float r = __builtin_sqrtf(-2.0f * (e * 0.69314718f + lnm));
        // theta in [-pi, pi), folded to [-pi/2, pi/2] for the series.
        const float th = float(M_PI) * (2.0f * u2 - 1.0f);
        const float fold = (th > float(M_PI / 2) || th < -float(M_PI / 2)) ? 1.0f : 0.0f;  // branch-free: vectorizes
        const float a = th + fold * (__builtin_copysignf(float(M_PI), th) - 2.0f * th);
        const float a2 = a * a;
        const float sn = a * (1 - a2 / 6 * (1 - a2 / 20 * (1 - a2 / 42 * (1 - a2 / 72 * (1 - a2 / 110 * (1 - a2 / 156))))));
        float cs = 1 - a2 / 2 * (1 - a2 / 12 * (1 - a2 / 30 * (1 - a2 / 56 * (1 - a2 / 90 * (1 - a2 / 132)))));
        cs = cs * (1.0f - 2.0f * fold);
        cos_out[i] = r * cs;
        sin_out[i] = r * sn;
    }
}

}  // namespace

uint64_t splitmix(uint64_t& s) {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

uint64_t stream_key(std::initializer_list<uint64_t> coordinates) {
    uint64_t h = 0;
    for (uint64_t c : coordinates) {
        uint64_t state = h ^ c;
        h = splitmix(state);
    }
    return h;
}

void normals_at(uint64_t key, uint64_t first, float* out, int64_t n) {
    const int64_t half = (n + 1) / 2;
    normals_at_pairs(key, first, out, out + half, half);  // the cosine halves first, then the sine halves
}

double GaussStream::next() {
    double u1 = (double(splitmix(state_) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
    double u2 = double(splitmix(state_) >> 11) * (1.0 / 9007199254740992.0);
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

double GaussStream::uniform() { return (double(splitmix(state_) >> 11) + 0.5) * (1.0 / 9007199254740992.0); }

}  // namespace cim::sim::detail
