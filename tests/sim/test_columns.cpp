// The simulator reads the columns the mapper places: with two's-complement weights in
// multi-bit cells (the sign bit in a column of its own) its programmed matrices span the
// mapper's columns and arrays, and ideal crossbars on them reproduce the integer program.
#include <doctest/doctest.h>

#include "sim_test_util.h"

#include <cim/cimsim/simulator.h>
#include <cim/device/column_layout.h>
#include <cim/ir/onnx_import.h>
#include <cim/mapper/mapping.h>
#include <cim/models/fashion_mnist.h>
#include <cim/quant/quantizer.h>

using namespace cim;

TEST_CASE("two's-complement weights in 2- and 4-bit cells: simulator, quantizer and mapper lay out the same columns") {
    const std::string data = models::default_fashion_mnist_dir();
    const Tensor calib_t = sim_test::as_tensor(models::calibration_split(data, 16, 1));
    const Tensor images = sim_test::as_tensor(models::load_fashion_mnist(data, models::Split::Test, 8));
    const Graph g = import_onnx(std::string(CIM_SOURCE_DIR) + "/models/zoo/lenet5/model.onnx");
    for (int cell : {2, 4}) {
        CAPTURE(cell);
        // ISAAC's arrays with 8-bit two's-complement weights; a 16-bit ADC holds every column sum.
        const DeviceSpec d = load_device("isaac", {"weight.encoding=twos_complement", "cell.bits=" + std::to_string(cell),
                                                   "array.capacity_bits=" + std::to_string(128 * 128 * cell), "weight.bits=8",
                                                   "input.bits=8", "quant.weight_bits=8", "quant.activation_bits=8",
                                                   "array.adc.bits=16", "cell.on_off_ratio=.inf"});
        const ColumnLayout layout = column_layout(d);
        CHECK(layout.columns_per_output == (7 + cell - 1) / cell + 1);
        const auto q = quant::quantize(g, d, {calib_t}, quant::QuantOptions::from_device(d));
        const Mapping m = sim_test::placement(g, d);
        for (const auto& L : q.model.layers) {
            CAPTURE(L.name);
            const LayerMapping* ml = m.find(L.name);
            REQUIRE(ml);
            const sim::ProgrammedMatrix pm = sim::CrossbarBackend::program(L, 0, d);
            CHECK(pm.cols == L.N * layout.columns_per_output);
            CHECK(pm.cols_per_array == ml->outputs_per_array * ml->cols_per_output + ml->reference_cols);
            CHECK((pm.cols + pm.cols_per_array - 1) / pm.cols_per_array == ml->col_tiles);
        }
        // Ideal cells and a wide ADC: the crossbars reproduce the integer program bit for bit.
        const auto exact = quant::run_program(q.model, {images});
        sim::CrossbarBackend backend(q.model, d, 1, 0);
        backend.force_bitplanes(true);
        quant::RunOptions ro;
        ro.backend = &backend;
        const auto simulated = quant::run_program(q.model, {images}, ro);
        CHECK(simulated[0].f == exact[0].f);
    }
}
