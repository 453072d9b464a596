// The int8 dot-product kernel (int8_dot.h): AVX-512 VNNI where the CPU has it, else a portable
// loop giving the same integers.
#include "int8_dot.h"

#include <cim/error.h>

#include <immintrin.h>

#include <algorithm>
#include <cstdlib>

namespace cim::sim::detail {

namespace {

bool kHasVnni = [] {
    __builtin_cpu_init();  // this runs during static initialization, maybe before libgcc's own
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vnni");
}();
const bool kCpuHasVnni = kHasVnni;

// Reads per pass: each digit register feeds 4 reads, each broadcast input word 4 column registers.
constexpr int kReadsStep = 4;

// Columns [j0, j0 + 16 NC) of the n reads of A (rows[i]: where read i's sums go in `out`, J columns
// each): out += sign x sum_q dot4(A[i][q], D[q][j]). A ragged last step repeats its last read
// (computed, not stored) so that the accumulators stay in registers.
template <int NC>
__attribute__((target("avx512f,avx512bw,avx512vnni"))) void dot_tile_vnni(const uint32_t* A, const int64_t* rows, int64_t n, int64_t quads,
                                                                        const int8_t* D, int64_t Jpad, int64_t J, int64_t j0, int32_t* out,
                                                                        bool subtract) {
    __mmask16 mask[NC];
    for (int c = 0; c < NC; ++c) {
        const int64_t left = J - (j0 + 16 * c);
        mask[c] = left >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << left) - 1);
    }
    for (int64_t i0 = 0; i0 < n; i0 += kReadsStep) {
        const int64_t mr = std::min<int64_t>(kReadsStep, n - i0);
        const uint32_t* a[kReadsStep];
        for (int r = 0; r < kReadsStep; ++r) a[r] = A + size_t(i0 + std::min<int64_t>(r, mr - 1)) * size_t(quads);
        __m512i acc[kReadsStep][NC];
        for (int r = 0; r < kReadsStep; ++r)
            for (int c = 0; c < NC; ++c) acc[r][c] = _mm512_setzero_si512();
        const int8_t* dq = D + size_t(j0) * 4;
        for (int64_t q = 0; q < quads; ++q, dq += size_t(Jpad) * 4) {
            __m512i b[NC];
            for (int c = 0; c < NC; ++c) b[c] = _mm512_loadu_si512(dq + 64 * c);
            for (int r = 0; r < kReadsStep; ++r) {
                const __m512i x = _mm512_set1_epi32(int32_t(a[r][q]));
                for (int c = 0; c < NC; ++c) acc[r][c] = _mm512_dpbusd_epi32(acc[r][c], x, b[c]);
            }
        }
        for (int r = 0; r < mr; ++r) {
            int32_t* o = out + size_t(rows[i0 + r]) * size_t(J) + size_t(j0);
            for (int c = 0; c < NC; ++c) {
                const __m512i old = _mm512_maskz_loadu_epi32(mask[c], o + 16 * c);
                const __m512i v = subtract ? _mm512_sub_epi32(old, acc[r][c]) : _mm512_add_epi32(old, acc[r][c]);
                _mm512_mask_storeu_epi32(o + 16 * c, mask[c], v);
            }
        }
    }
}

// 64 columns per step: 16 accumulators (4 reads x 4 column registers) and 4 digit registers.
__attribute__((target("avx512f,avx512bw,avx512vnni"))) void dot_vnni(const uint32_t* A, const int64_t* rows, int64_t n, int64_t quads,
                                                                   const int8_t* D, int64_t Jpad, int64_t J, int32_t* out, bool subtract) {
    for (int64_t j0 = 0; j0 < J; j0 += 64) switch (std::min<int64_t>(4, (J - j0 + 15) / 16)) {
            case 1: dot_tile_vnni<1>(A, rows, n, quads, D, Jpad, J, j0, out, subtract); break;
            case 2: dot_tile_vnni<2>(A, rows, n, quads, D, Jpad, J, j0, out, subtract); break;
            case 3: dot_tile_vnni<3>(A, rows, n, quads, D, Jpad, J, j0, out, subtract); break;
            default: dot_tile_vnni<4>(A, rows, n, quads, D, Jpad, J, j0, out, subtract); break;
        }
}

void dot_portable(const uint32_t* A, const int64_t* rows, int64_t n, int64_t quads, const int8_t* D, int64_t Jpad, int64_t J, int32_t* out,
                  bool subtract) {
    for (int64_t i = 0; i < n; ++i) {
        int32_t* o = out + size_t(rows[i]) * size_t(J);
        const uint32_t* a = A + size_t(i) * size_t(quads);
        for (int64_t q = 0; q < quads; ++q) {
            if (a[q] == 0) continue;
            int32_t u[4];
            for (int b = 0; b < 4; ++b) u[b] = int32_t((a[q] >> (8 * b)) & 0xFF);
            const int8_t* dq = D + size_t(q) * size_t(Jpad) * 4;
            for (int64_t j = 0; j < J; ++j) {
                const int8_t* d = dq + 4 * j;
                const int32_t dot = u[0] * d[0] + u[1] * d[1] + u[2] * d[2] + u[3] * d[3];
                o[j] += subtract ? -dot : dot;
            }
        }
    }
}

void dot(const uint32_t* A, const int64_t* rows, int64_t n, int64_t quads, const int8_t* D, int64_t Jpad, int64_t J, int32_t* out,
         bool subtract) {
    if (n == 0) return;
    (kHasVnni ? dot_vnni : dot_portable)(A, rows, n, quads, D, Jpad, J, out, subtract);
}

}  // namespace

void use_portable_int8(bool on) { kHasVnni = !on && kCpuHasVnni; }
bool vnni_kernel() { return kHasVnni; }

bool int8_fits(const std::vector<int16_t>& digits, int dac_bits) {
    if (dac_bits > 8) return false;
    for (int16_t v : digits)
        if (v < -127 || v > 127) return false;
    return true;
}

Int8Digits::Int8Digits(const std::vector<int16_t>& d, int64_t cols, const std::vector<ReadGroup>& groups) : J(cols), Jpad((cols + 15) / 16 * 16) {
    CIM_INTERNAL_CHECK(int8_fits(d, 8), "digits beyond a signed byte for the int8 kernel");
    signed_digits = std::any_of(d.begin(), d.end(), [](int16_t v) { return v < 0; });
    int64_t total = 0;
    for (const ReadGroup& g : groups) {
        first_quad.push_back(total);
        quads.push_back((g.r1 - g.r0 + 3) / 4);
        total += quads.back();
    }
    digits.assign(size_t(total * Jpad * 4), 0);
    if (signed_digits) negative.assign(digits.size(), 0);
    for (size_t gi = 0; gi < groups.size(); ++gi)
        for (int64_t r = groups[gi].r0; r < groups[gi].r1; ++r) {
            const int64_t q = first_quad[gi] + (r - groups[gi].r0) / 4, b = (r - groups[gi].r0) % 4;
            for (int64_t j = 0; j < J; ++j) {
                const int v = d[size_t(r * J + j)];
                const size_t at = size_t((q * Jpad + j) * 4 + b);
                digits[at] = int8_t(v);
                if (v < 0) negative[at] = 1;
            }
        }
}

void InputBytes::load(const int32_t* x, int64_t V, int64_t K, const ReadGroup& g) {
    CIM_INTERNAL_CHECK(dac_bits >= 1 && dac_bits <= 8, "input planes beyond a byte for the int8 kernel");
    const int64_t n = g.r1 - g.r0;
    quads = (n + 3) / 4;
    const size_t reads_max = size_t(V) * size_t(planes);
    reads.clear();
    any_negative = false;
    pos.resize(reads_max * size_t(quads));
    if (sign_magnitude) neg.resize(pos.size());
    P.assign(reads_max, 0);
    Q.assign(reads_max, 0);
    const uint32_t mask = (uint32_t(1) << dac_bits) - 1;
    for (int64_t v = 0; v < V; ++v) {
        const int32_t* codes = x + v * K + g.r0;
        for (int p = 0; p < planes; ++p) {
            uint32_t* dp = pos.data() + reads.size() * size_t(quads);
            uint32_t* dn = sign_magnitude ? neg.data() + reads.size() * size_t(quads) : nullptr;
            const int shift = p * dac_bits;
            int64_t sum = 0, squares = 0, negative = 0;
            // Branch-free (it vectorizes): the value of row r goes to byte r % 4 of pos or neg.
            auto quad = [&](int64_t q, int rows) {
                uint32_t wp = 0, wn = 0;
                for (int b = 0; b < rows; ++b) {
                    const int32_t c = codes[4 * q + b];
                    const bool driven_negative = sign_magnitude && c < 0;
                    const uint32_t u = driven_negative ? uint32_t(0) - uint32_t(c) : uint32_t(c);
                    const uint32_t value = (u >> shift) & mask;
                    wp |= (driven_negative ? 0u : value) << (8 * b);
                    wn |= (driven_negative ? value : 0u) << (8 * b);
                    sum += driven_negative ? -int64_t(value) : int64_t(value);
                    squares += int64_t(value * value);
                }
                dp[q] = wp;
                if (dn) dn[q] = wn;
                negative |= int64_t(wn);
            };
            for (int64_t q = 0; q < n / 4; ++q) quad(q, 4);
            if (n % 4) quad(n / 4, int(n % 4));
            const size_t read = size_t(v) * size_t(planes) + size_t(p);
            P[read] = sum;
            Q[read] = squares;
            if (squares == 0) continue;  // no input set: its sums are zero
            reads.push_back(int64_t(read));
            any_negative = any_negative || negative != 0;
        }
    }
}

void int8_sums(const Int8Digits& d, size_t gi, const InputBytes& in, int64_t V, int32_t* sums, int32_t* pneg) {
    CIM_INTERNAL_CHECK(in.quads == d.quads[gi], "input bytes of another read");
    const size_t n = size_t(V) * size_t(in.planes) * size_t(d.J);
    const bool want_pneg = pneg != nullptr && d.signed_digits;
    std::fill(sums, sums + n, 0);
    if (want_pneg) std::fill(pneg, pneg + n, 0);
    const int64_t reads = int64_t(in.reads.size());
    // Rows driven negative subtract their plane value x digit (sign_magnitude inputs).
    dot(in.pos.data(), in.reads.data(), reads, in.quads, d.group_digits(gi), d.Jpad, d.J, sums, false);
    if (in.any_negative) dot(in.neg.data(), in.reads.data(), reads, in.quads, d.group_digits(gi), d.Jpad, d.J, sums, true);
    if (!want_pneg) return;
    dot(in.pos.data(), in.reads.data(), reads, in.quads, d.group_negative(gi), d.Jpad, d.J, pneg, false);
    if (in.any_negative) dot(in.neg.data(), in.reads.data(), reads, in.quads, d.group_negative(gi), d.Jpad, d.J, pneg, true);
}

}  // namespace cim::sim::detail
