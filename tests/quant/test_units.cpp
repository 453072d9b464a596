// Weight codes and the cell-digit identity (the calibrators: test_calibration.cpp).
#include "quant_test_util.h"

#include <cim/quant/program.h>

#include <doctest/doctest.h>

#include <cmath>
#include <random>

using namespace cim;
using namespace cim::quant;

namespace {

// A synthetic layer with random codes, finalized for a device.
QuantLayer random_layer(const DeviceSpec& d, int64_t K, int64_t N, int64_t G, int32_t qmax, InputRealization real,
                        int in_bits, uint32_t seed) {
    QuantLayer L;
    L.name = "synthetic";
    L.K = K;
    L.N = N;
    L.groups = G;
    L.weight_qmax = qmax;
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int32_t> wd(-qmax, qmax);
    L.w.resize(size_t(G * K * N));
    for (auto& x : L.w) x = wd(rng);
    L.w[0] = qmax;  // the extremes are always present
    L.w[1 % L.w.size()] = -qmax;
    L.w_scale.assign(size_t(G * N), 1.0);
    L.w_zero_point.assign(size_t(G * N), 0);
    L.out_scale.assign(size_t(G * N), 1.0);
    L.bias_code.assign(size_t(G * N), 0);
    L.input.bits = in_bits;
    L.input.realization = real;
    L.input.is_signed = real != InputRealization::unsigned_code;
    if (real == InputRealization::pos_neg_split || real == InputRealization::twos_complement) {
        L.input.code_max = (1 << (in_bits - 1)) - 1;
        L.input.code_min = -L.input.code_max;
    } else {
        L.input.code_min = 0;
        L.input.code_max = (1 << in_bits) - 1;
    }
    L.finalize(d);
    return L;
}

std::vector<int32_t> random_inputs(const QuantLayer& L, int64_t vectors, uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int32_t> xd(L.input.code_min, L.input.code_max);
    const int64_t R = L.rows(), K = L.K;
    std::vector<int32_t> x(size_t(vectors * R), 0);
    for (int64_t v = 0; v < vectors; ++v)
        for (int64_t k = 0; k < K; ++k) {
            const int32_t q = xd(rng);
            if (L.input.realization == InputRealization::pos_neg_split) {
                x[size_t(v * R + k)] = std::max(q, 0);
                x[size_t(v * R + K + k)] = std::max(-q, 0);
            } else {
                x[size_t(v * R + k)] = q;
            }
        }
    return x;
}

}  // namespace

TEST_CASE("cell digits recombine to every array weight, for every encoding and cell width") {
    for (const char* enc : {"differential", "offset", "twos_complement", "native_signed"})
        for (int cell : {1, 2, 3, 4, 8})
            for (int bits : {2, 3, 4, 6, 8}) {
                const bool native = std::string(enc) == "native_signed";
                if (native && cell != 8) continue;  // a native signed cell holds the whole weight
                const DeviceSpec d = load_device("isaac", {native ? "weight.bits=8" : "weight.bits=16", std::string("weight.encoding=") + enc,
                                                          native ? "quant.weight_bits=8" : "quant.weight_bits=16",
                                                          "cell.bits=" + std::to_string(cell),
                                                          "array.capacity_bits=" + std::to_string(128 * 128 * cell)});
                const int32_t qmax = (1 << (bits - 1)) - 1;
                for (auto real : {InputRealization::unsigned_code, InputRealization::pos_neg_split}) {
                    const QuantLayer L = random_layer(d, 19, 5, 2, qmax, real, 8, uint32_t(cell * 100 + bits));
                    const CellDigits& cd = L.digits;
                    CAPTURE(enc);
                    CAPTURE(cell);
                    CAPTURE(bits);
                    REQUIRE(int(cd.column_weight.size()) == cd.layout.columns_per_output);
                    const ColumnLayout placed = column_layout(d, bits);  // what the mapper places
                    CHECK(cd.layout.columns_per_output == placed.columns_per_output);
                    CHECK(cd.layout.reference_columns == placed.reference_columns);
                    CHECK(int(cd.reference_digit.size()) == placed.reference_columns);
                    bool ok = true;
                    for (int64_t g = 0; g < L.groups; ++g)
                        for (int64_t r = 0; r < L.rows(); ++r)
                            for (int64_t n = 0; n < L.N; ++n) {
                                int64_t sum = 0;
                                for (int c = 0; c < cd.layout.columns_per_output; ++c) {
                                    const int16_t digit = L.digit(g, r, n, c);
                                    if (std::string(enc) != "native_signed" && (digit < 0 || digit >= (1 << cell))) ok = false;
                                    sum += cd.column_weight[size_t(c)] * digit;
                                }
                                for (size_t j = 0; j < cd.reference_digit.size(); ++j) sum += cd.reference_weight[j] * cd.reference_digit[j];
                                if (sum != L.array_weight(g, r, n)) ok = false;
                            }
                    CHECK(ok);
                }
            }
}

TEST_CASE("the ideal-crossbar reference backend reproduces the exact GEMM bit for bit") {
    struct Case {
        const char* device;
        std::vector<std::string> sets;
        InputRealization real;
        int bits;
    };
    const std::vector<Case> cases{
        {"wtm2101", {}, InputRealization::pos_neg_split, 8},
        {"wtm2101", {}, InputRealization::unsigned_code, 8},
        {"isaac", {"weight.bits=8", "input.bits=8", "quant.weight_bits=8", "quant.activation_bits=8"}, InputRealization::offset, 8},
        {"isaac", {"weight.bits=8", "input.bits=8", "input.dac_bits=2", "quant.weight_bits=8", "quant.activation_bits=8"}, InputRealization::unsigned_code, 8},
        {"mram_princeton22", {"weight.bits=8", "input.bits=8"}, InputRealization::twos_complement, 8},
        {"tsmc7_sram_analog", {}, InputRealization::offset, 4},
        {"tsmc22_sram_digital", {}, InputRealization::twos_complement, 4},
    };
    for (const auto& c : cases) {
        DeviceSpec d = load_device(c.device, c.sets);
        d.array.max_active_rows = 16;  // several row tiles per column
        const int32_t qmax = std::min(d.weight.clip, (1 << (d.weight.bits - 1)) - 1);
        const QuantLayer L = random_layer(d, 70, 9, 3, qmax, c.real, c.bits, 11);
        const int64_t V = 13;
        const auto x = random_inputs(L, V, 5);
        ExactMvmBackend exact;
        DigitMvmBackend ideal(d);
        for (int g = 0; g < 3; ++g) {
            std::vector<int64_t> a(size_t(V * L.N)), b(size_t(V * L.N)), ref(size_t(V * L.N), 0);
            exact.mvm(L, g, x.data(), V, a.data(), {});
            ideal.mvm(L, g, x.data(), V, b.data(), {});
            for (int64_t v = 0; v < V; ++v)
                for (int64_t n = 0; n < L.N; ++n)
                    for (int64_t r = 0; r < L.rows(); ++r)
                        ref[size_t(v * L.N + n)] += int64_t(x[size_t(v * L.rows() + r)]) * L.array_weight(g, r, n);
            CAPTURE(c.device);
            CHECK(a == ref);
            CHECK(b == ref);
        }
    }
}

TEST_CASE("the exact backend falls back to int64 for 16-bit codes and stays exact") {
    const DeviceSpec d = load_device("isaac", {});
    const QuantLayer L = random_layer(d, 300, 7, 1, 32767, InputRealization::unsigned_code, 16, 3);
    CHECK_FALSE(L.int16_ok);
    const auto x = random_inputs(L, 4, 9);
    std::vector<int64_t> a(size_t(4 * L.N));
    ExactMvmBackend().mvm(L, 0, x.data(), 4, a.data(), {});
    for (int64_t v = 0; v < 4; ++v)
        for (int64_t n = 0; n < L.N; ++n) {
            int64_t s = 0;
            for (int64_t k = 0; k < L.K; ++k) s += int64_t(x[size_t(v * L.K + k)]) * L.w[size_t(k * L.N + n)];
            CHECK(a[size_t(v * L.N + n)] == s);
        }
}
