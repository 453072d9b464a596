// The float conductance-rows kernel (read_kernels.h: plane_sums) against a straightforward reference
// on random conductances: every read's sums added row by row in row order, in the kernel's own
// precision. The kernel takes a block of dense reads (most rows set) through one pass over the rows
// and the sparse ones row list by row list; both must give the reference's sums bit for bit, on
// ragged column tiles, read groups that start inside the array, several planes and DAC widths and
// bipolar (sign-magnitude) inputs. Then float sums against double ones above 2^24 within the bound
// the layer's precision choice relies on (cimsim/src/crossbar.cpp).
#include <doctest/doctest.h>

#include "read_kernels.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

using namespace cim::sim;

namespace {

int64_t plane_of(int32_t x, int p, int dac_bits, bool sign_magnitude) {
    const int32_t mask = int32_t((int64_t(1) << dac_bits) - 1);
    const int32_t a = sign_magnitude && x < 0 ? -x : x;
    const int64_t v = (a >> (p * dac_bits)) & mask;
    return sign_magnitude && x < 0 ? -v : v;
}

struct RowsCase {
    const char* what;
    int64_t K, J, r0, rows, V;
    int planes, dac_bits;
    bool sign_magnitude;
    double set_share;  // the share of inputs that are non-zero: dense and sparse reads mixed
};

template <class T>
void check_case(const RowsCase& c, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> g01(0.0, 1.0);
    std::vector<T> G(size_t(c.K * c.J));
    for (T& g : G) g = T(g01(rng) * 7.3);  // conductances with fractions, as under programming variation
    const std::vector<T> tiles = detail::tile_conductances(G, c.K, c.J);
    const int32_t top = int32_t((int64_t(1) << (c.planes * c.dac_bits)) - 1);
    std::uniform_int_distribution<int32_t> code(c.sign_magnitude ? -top : 1, top);
    std::vector<int32_t> x(size_t(c.V * c.K));
    for (int64_t v = 0; v < c.V; ++v) {
        // Every other vector mostly zeros: its reads go the sparse way beside the dense ones.
        const double share = v % 2 ? c.set_share : c.set_share / 8;
        for (int64_t k = 0; k < c.K; ++k) x[size_t(v * c.K + k)] = g01(rng) < share ? code(rng) : 0;
    }
    std::vector<T> S(size_t(c.V * c.planes * c.J), T(-1));
    std::vector<float> sq(size_t(c.V * c.planes), -1.0f);
    detail::RowsScratch<T> scratch;
    detail::plane_sums(tiles.data(), c.J, c.K, c.r0, x.data() + c.r0, c.K, c.V, c.rows, c.planes, c.dac_bits, c.sign_magnitude,
                       S.data(), sq.data(), scratch);
    // The kernel is compiled for several CPUs (read_kernels.h): where the CPU has FMA each f x G + sum
    // is fused, elsewhere a product and a sum. The sums must equal one of the two references throughout.
    int64_t mismatches_fused = 0, mismatches_unfused = 0;
    for (int64_t v = 0; v < c.V; ++v)
        for (int p = 0; p < c.planes; ++p) {
            float sq_ref = 0;
            std::vector<T> fused(size_t(c.J), T(0)), unfused(size_t(c.J), T(0));
            for (int64_t k = c.r0; k < c.r0 + c.rows; ++k) {
                const int64_t f = plane_of(x[size_t(v * c.K + k)], p, c.dac_bits, c.sign_magnitude);
                if (f == 0) continue;
                sq_ref += float(T(f) * T(f));
                for (int64_t j = 0; j < c.J; ++j) {
                    const T g = G[size_t(k * c.J + j)];
                    fused[size_t(j)] = std::fma(T(f), g, fused[size_t(j)]);
                    const T product = T(f) * g;
                    unfused[size_t(j)] += product;
                }
            }
            CHECK(sq[size_t(v * c.planes + p)] == sq_ref);
            for (int64_t j = 0; j < c.J; ++j) {
                const T s = S[size_t((v * c.planes + p) * c.J + j)];
                mismatches_fused += s != fused[size_t(j)];
                mismatches_unfused += s != unfused[size_t(j)];
            }
        }
    CHECK(std::min(mismatches_fused, mismatches_unfused) == 0);
}

}  // namespace

TEST_CASE("the float rows kernel, dense blocks and sparse row lists, equals row-order sums bit for bit") {
    const RowsCase cases[] = {
        {"128 rows, 8 one-bit planes, ragged tile", 128, 100, 0, 128, 9, 8, 1, false, 0.7},
        {"1152 rows, one 8-bit plane (CrossSim's multi-bit inputs)", 1152, 70, 0, 1152, 8, 1, 8, false, 0.9},
        {"a read group inside the array, 2-bit DAC, bipolar inputs", 300, 65, 37, 200, 7, 4, 2, true, 0.8},
        {"odd columns, a lone vector", 64, 3, 0, 64, 1, 2, 1, false, 1.0},
        {"every read sparse", 256, 130, 0, 256, 6, 8, 1, false, 0.1},
    };
    uint64_t seed = 11;
    for (const RowsCase& c : cases) {
        CAPTURE(c.what);
        check_case<float>(c, seed++);
        check_case<double>(c, seed++);
    }
}

TEST_CASE("float column sums above 2^24 stay within rows x 2^-24 of the full scale of double ones") {
    // CrossSim's fast setting: 1152 rows, 8-bit inputs in one step, conductances up to 127 (7-bit
    // cells) with variation: full scale 1152 x 255 x 127 = 3.7e7, above float's exact 2^24.
    const int64_t K = 1152, J = 96, V = 8;
    std::mt19937_64 rng(5);
    std::normal_distribution<double> noise(0.0, 0.05);
    std::uniform_int_distribution<int> digit(64, 127), input(128, 255);  // sums near the full scale
    std::vector<double> Gd(size_t(K * J));
    for (double& g : Gd) g = std::max(0.0, digit(rng) * (1.0 + noise(rng)));
    const std::vector<float> Gf(Gd.begin(), Gd.end());
    std::vector<double> G_rounded(Gf.begin(), Gf.end());  // the same conductances in both precisions
    std::vector<int32_t> x(size_t(V * K));
    for (int32_t& v : x) v = input(rng);
    std::vector<float> Sf(static_cast<size_t>(V * J)), sq(static_cast<size_t>(V));
    std::vector<double> Sd(size_t(V * J));
    detail::RowsScratch<float> scratch_f;
    detail::RowsScratch<double> scratch_d;
    detail::plane_sums(detail::tile_conductances(Gf, K, J).data(), J, K, 0, x.data(), K, V, K, 1, 8, false, Sf.data(), sq.data(),
                       scratch_f);
    detail::plane_sums(detail::tile_conductances(G_rounded, K, J).data(), J, K, 0, x.data(), K, V, K, 1, 8, false, Sd.data(),
                       sq.data(), scratch_d);
    const double full_scale = double(K) * 255 * 127 * 1.25;
    const double bound = double(K) * std::ldexp(1.0, -24) * full_scale;
    double worst = 0, largest = 0;
    for (size_t i = 0; i < Sf.size(); ++i) {
        worst = std::max(worst, std::abs(double(Sf[i]) - Sd[i]));
        largest = std::max(largest, Sd[i]);
    }
    CHECK(largest > std::ldexp(1.0, 24));  // the sums do pass float's exact range
    CHECK(worst > 0);                      // float does round them
    CHECK(worst <= bound);
    // The bound is under 1/16 of an 8-bit ADC's full-scale LSB, as the precision choice assumes.
    CHECK(bound <= full_scale / 256 / 16);
}
