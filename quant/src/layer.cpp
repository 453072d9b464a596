// QuantLayer bookkeeping: cell digits per device encoding, kernel packing, and the
// two MVM backends (exact GEMM, reference ideal crossbar on the digits).
#include "int_gemm.h"

#include <cim/device/column_layout.h>
#include <cim/error.h>
#include <cim/quant/program.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace cim::quant {

std::string_view to_string(InputRealization r) {
    switch (r) {
        case InputRealization::unsigned_code: return "unsigned";
        case InputRealization::offset: return "offset";
        case InputRealization::pos_neg_split: return "pos_neg_split";
        case InputRealization::twos_complement: return "twos_complement";
        case InputRealization::bipolar: return "bipolar";
    }
    return "?";
}

int32_t ActQuant::quantize(float x) const {
    const double q = std::nearbyint(double(x) / scale) + double(zero_point);
    if (!(q >= double(code_min))) return code_min;  // also NaN
    if (q > double(code_max)) return code_max;
    return int32_t(q);
}

const QuantLayer* QuantizedModel::find(const std::string& name) const {
    for (const auto& l : layers)
        if (l.name == name) return &l;
    return nullptr;
}

namespace {

// Largest |code| the default kernel sees on an input row (after folding pos/neg rows).
int64_t input_code_magnitude(const ActQuant& a) {
    return std::max<int64_t>(std::abs(int64_t(a.code_min)), std::abs(int64_t(a.code_max)));
}

}  // namespace

void QuantLayer::finalize(const DeviceSpec& device) {
    const int64_t GN = groups * N;
    CIM_INTERNAL_CHECK(int64_t(w.size()) == groups * K * N, "layer " + name + ": weight code count");
    colsum.assign(size_t(GN), 0);
    int32_t wmax = 0;
    for (int64_t g = 0; g < groups; ++g)
        for (int64_t k = 0; k < K; ++k)
            for (int64_t n = 0; n < N; ++n) {
                const int32_t c = w[size_t((g * K + k) * N + n)];
                CIM_INTERNAL_CHECK(c >= weight_code_min() && c <= weight_qmax, "layer " + name + ": code beyond its range");
                colsum[size_t(g * N + n)] += c;
                wmax = std::max(wmax, std::abs(c));
            }
    needs_input_sum = std::any_of(w_zero_point.begin(), w_zero_point.end(), [](int32_t z) { return z != 0; });

    // ---- cell digits ----
    CellDigits& d = digits;
    d = CellDigits{};
    d.encoding = device.weight.encoding;
    d.cell_bits = device.cell.bits;
    if (d.encoding == WeightEncoding::native_signed && weight_qmax > device.weight.clip)
        throw InputError("layer '" + name + "': weight codes up to " + std::to_string(weight_qmax) +
                         " exceed the device's weight.clip " + std::to_string(device.weight.clip));
    d.layout = column_layout(d.encoding, std::min(-1, weight_code_min()), std::max(1, weight_qmax), d.cell_bits);
    const ColumnLayout& layout = d.layout;
    const int c = d.cell_bits, B = layout.code_bits, S = layout.slices;
    switch (d.encoding) {
        case WeightEncoding::differential:
            for (int s = 0; s < 2; ++s)
                for (int j = 0; j < S; ++j) d.column_weight.push_back((s ? -1 : 1) * (int64_t(1) << (c * j)));
            break;
        case WeightEncoding::offset:
            for (int j = 0; j < S; ++j) d.column_weight.push_back(int64_t(1) << (c * j));
            for (int j = 0; j < layout.reference_columns; ++j) {  // the digits of 2^(B-1), one per slice
                d.reference_digit.push_back(int16_t(((int64_t(1) << (B - 1)) >> (c * j)) & ((1 << c) - 1)));
                d.reference_weight.push_back(-(int64_t(1) << (c * j)));
            }
            break;
        case WeightEncoding::twos_complement:
            for (int j = 0; j + 1 < S; ++j) d.column_weight.push_back(int64_t(1) << (c * j));
            d.column_weight.push_back(-(int64_t(1) << (B - 1)));
            break;
        case WeightEncoding::native_signed: d.column_weight.push_back(1); break;
    }
    CIM_INTERNAL_CHECK(int(d.column_weight.size()) == layout.columns_per_output, "layer " + name + ": column layout");

    // ---- default kernel data ----
    const int64_t xmax = std::max<int64_t>(1, input_code_magnitude(input));
    k_padded = (K + 31) / 32 * 32;
    const int64_t per_product = xmax * std::max<int32_t>(1, wmax);
    const int64_t limit = std::numeric_limits<int32_t>::max() / per_product;
    k_chunk = limit / 32 * 32;
    int16_ok = xmax <= 32767 && wmax <= 32767 && k_chunk >= 32;
    packed_w.clear();
    if (int16_ok) {
        packed_w.assign(size_t(groups * N * k_padded), 0);
        for (int64_t g = 0; g < groups; ++g)
            for (int64_t n = 0; n < N; ++n)
                for (int64_t k = 0; k < K; ++k)
                    packed_w[size_t((g * N + n) * k_padded + k)] = int16_t(w[size_t((g * K + k) * N + n)]);
    }
}

// ---------------- backends ----------------

void ExactMvmBackend::mvm(const QuantLayer& L, int group, const int32_t* x, int64_t vectors, int64_t* acc,
                          const MvmContext&) {
    const int64_t K = L.K, N = L.N, R = L.rows();
    const bool split = L.input.realization == InputRealization::pos_neg_split;
    std::fill(acc, acc + vectors * N, int64_t(0));
    if (!L.int16_ok) {
        for (int64_t v = 0; v < vectors; ++v) {
            const int32_t* xv = x + v * R;
            int64_t* av = acc + v * N;
            for (int64_t k = 0; k < K; ++k) {
                const int64_t q = split ? int64_t(xv[k]) - xv[K + k] : int64_t(xv[k]);
                if (q == 0) continue;
                const int32_t* wr = L.w.data() + (int64_t(group) * K + k) * N;
                for (int64_t n = 0; n < N; ++n) av[n] += q * wr[n];
            }
        }
        return;
    }
    const int64_t ld = L.k_padded;
    thread_local std::vector<int16_t> xbuf;
    if (xbuf.size() < size_t(vectors * ld)) xbuf.resize(size_t(vectors * ld));
    for (int64_t v = 0; v < vectors; ++v) {
        const int32_t* xv = x + v * R;
        int16_t* o = xbuf.data() + v * ld;
        if (split)
            for (int64_t k = 0; k < K; ++k) o[k] = int16_t(xv[k] - xv[K + k]);
        else
            for (int64_t k = 0; k < K; ++k) o[k] = int16_t(xv[k]);
        std::fill(o + K, o + ld, int16_t(0));
    }
    const int16_t* W = L.packed_w.data() + int64_t(group) * N * ld;
    for (int64_t k0 = 0; k0 < ld; k0 += L.k_chunk)
        detail::gemm_i16(xbuf.data(), vectors, W, N, ld, k0, std::min(ld, k0 + L.k_chunk), acc);
}

void DigitMvmBackend::mvm(const QuantLayer& L, int group, const int32_t* x, int64_t vectors, int64_t* acc,
                          const MvmContext&) {
    const CellDigits& d = L.digits;
    const int64_t R = L.rows(), N = L.N, C = d.layout.columns_per_output;
    const int64_t tile = std::max(1, device_.array.max_active_rows);
    const bool signed_planes = L.input.realization == InputRealization::twos_complement;
    // Bipolar inputs: the planes of |x|, each driven with the sign of x (sign-magnitude).
    const bool bipolar = L.input.realization == InputRealization::bipolar;
    const int bits = L.input.bits;
    const int dac = device_.input.mode == InputMode::multi_bit ? bits : std::max(1, device_.input.dac_bits);
    const int planes = (bits + dac - 1) / dac;
    const int64_t plane_mask = (int64_t(1) << dac) - 1;
    auto plane_in = [&](int32_t x_r, int p) -> int64_t {
        if (bipolar) return (x_r < 0 ? -1 : 1) * ((int64_t(std::abs(x_r)) >> (p * dac)) & plane_mask);
        const int64_t u = int64_t(uint32_t(x_r) & ((uint64_t(1) << bits) - 1));
        return (u >> (p * dac)) & plane_mask;
    };
    for (int64_t v = 0; v < vectors; ++v) {
        const int32_t* xv = x + v * R;
        int64_t* av = acc + v * N;
        std::fill(av, av + N, int64_t(0));
        for (int p = 0; p < planes; ++p) {
            // Plane p of each row's code: unsigned slices of the code's bits-wide
            // two's-complement pattern; with signed inputs the top bit weighs negative.
            for (int64_t r0 = 0; r0 < R; r0 += tile) {
                const int64_t r1 = std::min(R, r0 + tile);
                for (int64_t n = 0; n < N; ++n) {
                    int64_t total = 0;
                    for (int64_t c = 0; c < C; ++c) {
                        int64_t colsum = 0;  // what an ideal ADC reads
                        for (int64_t r = r0; r < r1; ++r) colsum += plane_in(xv[r], p) * L.digit(group, r, n, int(c));
                        total += d.column_weight[size_t(c)] * colsum;
                    }
                    for (size_t j = 0; j < d.reference_digit.size(); ++j) {
                        int64_t colsum = 0;
                        for (int64_t r = r0; r < r1; ++r) colsum += plane_in(xv[r], p) * d.reference_digit[j];
                        total += d.reference_weight[j] * colsum;
                    }
                    // Shift-add across planes; the MSB plane of a signed input subtracts its top bit.
                    int64_t contribution = total << (p * dac);
                    if (signed_planes && p == planes - 1) {
                        // Top plane holds bit bits-1 (weight -2^(bits-1)) among its bits: redo it bit by bit.
                        contribution = 0;
                        for (int b = p * dac; b < bits; ++b) {
                            int64_t t = 0;
                            for (int64_t c = 0; c < C; ++c) {
                                int64_t colsum = 0;
                                for (int64_t r = r0; r < r1; ++r) {
                                    const int64_t u = int64_t(uint32_t(xv[r]) & ((uint64_t(1) << bits) - 1));
                                    colsum += ((u >> b) & 1) * L.digit(group, r, n, int(c));
                                }
                                t += d.column_weight[size_t(c)] * colsum;
                            }
                            for (size_t j = 0; j < d.reference_digit.size(); ++j) {
                                int64_t colsum = 0;
                                for (int64_t r = r0; r < r1; ++r) {
                                    const int64_t u = int64_t(uint32_t(xv[r]) & ((uint64_t(1) << bits) - 1));
                                    colsum += ((u >> b) & 1) * d.reference_digit[j];
                                }
                                t += d.reference_weight[j] * colsum;
                            }
                            contribution += (b == bits - 1 ? -1 : 1) * (t << b);
                        }
                    }
                    av[n] += contribution;
                }
            }
        }
    }
}

}  // namespace cim::quant
