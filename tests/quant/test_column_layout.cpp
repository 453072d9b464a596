// The mapper places the columns the quantizer programs: for every weight encoding,
// cell width and code width, the columns per output and reference columns of the
// mapping equal those of the programmed cell digits, and so do the array counts
// (in-process and through cim-quant / cim-map).
#include "quant_test_util.h"

#include <cim/device/column_layout.h>
#include <cim/mapper/mapping.h>

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

using namespace cim;
using namespace cim::quant;

namespace {

// ISAAC's 128 x 128 arrays with `encoding`, `cell`-bit cells and `device_bits`-bit weights,
// quantized to `bits`-bit codes.
DeviceSpec device_for(const std::string& encoding, int cell, int device_bits, int bits) {
    return load_device("isaac", {"weight.encoding=" + encoding, "cell.bits=" + std::to_string(cell),
                                 "array.capacity_bits=" + std::to_string(128 * 128 * cell),
                                 "weight.bits=" + std::to_string(device_bits), "quant.weight_bits=" + std::to_string(bits),
                                 "input.bits=8", "quant.activation_bits=8", "quant.power_of_two_scales=false"});
}

// Columns one output occupies in the programmed layer: the shift-add weights its digits are read with.
int64_t programmed_columns_per_output(const QuantLayer& L) { return int64_t(L.digits.column_weight.size()); }

// Arrays the programmed layer fills: each array holds whole outputs beside its reference columns.
int64_t programmed_arrays(const QuantLayer& L, const DeviceSpec& d) {
    const int64_t cpo = programmed_columns_per_output(L), refs = int64_t(L.digits.reference_digit.size());
    const int64_t per_array = (d.array.usable_cols - refs) / cpo;
    const int64_t row_tiles = (L.rows() + d.array.usable_rows - 1) / d.array.usable_rows;
    return L.groups * row_tiles * ((L.N + per_array - 1) / per_array);
}

QuantizedModel quantized(const Graph& g, const DeviceSpec& d) {
    QuantOptions o = QuantOptions::from_device(d);
    o.report_sqnr = false;
    static const Tensor calib = qtest::calibration(8);
    return quantize(g, d, {calib}, o).model;
}

}  // namespace

TEST_CASE("two's complement in 2-bit cells: the sign bit takes a column of its own") {
    // The 16-bit codes of ISAAC: 15 low bits in 8 two-bit digits, and the sign: 9 columns.
    const ColumnLayout l = column_layout(WeightEncoding::twos_complement, 32767, 2);
    CHECK(l.code_bits == 16);
    CHECK(l.columns_per_output == 9);
    CHECK(column_layout(WeightEncoding::twos_complement, 127, 1).columns_per_output == 8);
    CHECK(column_layout(WeightEncoding::differential, 127, 2).columns_per_output == 8);
    CHECK(column_layout(WeightEncoding::offset, 127, 4).reference_columns == 2);
    CHECK(column_layout(WeightEncoding::native_signed, 275, 8).columns_per_output == 1);
}

TEST_CASE("mapper and quantizer agree on columns per output, reference columns and arrays") {
    const Graph g = import_onnx(qtest::zoo("lenet5"));
    const Graph batch1 = specialize_batch(g, 1);
    MapOptions no_dup;
    no_dup.duplicate = false;
    struct Combo {
        std::string encoding;
        int cell;
    };
    std::vector<Combo> combos{{"native_signed", 8}};
    for (const char* e : {"differential", "offset", "twos_complement"})
        for (int cell : {1, 2, 4}) combos.push_back({e, cell});
    for (const auto& [encoding, cell] : combos)
        for (int bits = 2; bits <= 8; ++bits) {
            const auto encoding_value = encoding;  // clang 14 cannot capture a structured binding
            CAPTURE(encoding_value);
            const auto cell_value = cell;
            CAPTURE(cell_value);
            CAPTURE(bits);
            // The device stores `bits`-bit weights; and an 8-bit device holding `bits`-bit layers (mixed precision).
            for (int device_bits : bits == 8 ? std::vector<int>{8} : std::vector<int>{bits, 8}) {
                CAPTURE(device_bits);
                const DeviceSpec d = device_for(encoding, cell, device_bits, bits);
                const QuantizedModel q = quantized(g, d);
                MapOptions opt = no_dup;
                for (const auto& L : q.layers) opt.layer_weight_bits[L.name] = bits;
                const Mapping m = map_model(batch1, d, opt);
                REQUIRE(!q.layers.empty());
                for (const auto& L : q.layers) {
                    CAPTURE(L.name);
                    const LayerMapping* ml = m.find(L.name);
                    REQUIRE(ml);
                    CHECK(ml->cols_per_output == programmed_columns_per_output(L));
                    CHECK(ml->reference_cols == int64_t(L.digits.reference_digit.size()));
                    CHECK(ml->arrays == programmed_arrays(L, d));
                }
            }
        }
}

TEST_CASE("cim-map counts the arrays the quantizer programs (ISAAC with two's-complement weights in 2-bit cells)") {
    const std::string sets = " --set weight.encoding=twos_complement --set input.bits=8 --set quant.activation_bits=8";
    const DeviceSpec d = load_device("isaac", {"weight.encoding=twos_complement", "input.bits=8", "quant.activation_bits=8"});
    const QuantizedModel q = quantized(import_onnx(qtest::zoo("lenet5")), d);
    const auto [out, status] =
        qtest::run_command(qtest::tool("cim-map") + " " + qtest::zoo("lenet5") + " --device isaac --no-duplicate --json" + sets);
    REQUIRE(status == 0);
    const auto j = nlohmann::json::parse(out);
    int64_t programmed = 0;
    for (const auto& L : q.layers) {
        CHECK(L.digits.layout.columns_per_output == 9);  // 16-bit codes: 8 digits of the low 15 bits and the sign
        programmed += programmed_arrays(L, d);
        for (const auto& l : j["layers"])
            if (l["name"] == L.name) {
                CHECK(l["arrays"].get<int64_t>() == programmed_arrays(L, d));
                CHECK(l["cols_per_output"].get<int64_t>() == 9);
            }
    }
    CHECK(j["total"]["arrays"].get<int64_t>() == programmed);
}
