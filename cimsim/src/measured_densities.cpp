#include <cim/cimsim/measured_densities.h>
#include <cim/device/column_layout.h>
#include <cim/error.h>
#include <cim/quant/quantizer.h>

#include <fmt/format.h>

#include <cstdlib>
#include <map>
#include <mutex>

namespace cim {

namespace {

double weight_density(const quant::QuantLayer& L) {
    const int64_t R = L.rows(), C = L.digits.layout.columns_per_output;
    const double cells = double(L.groups * R * L.N * C);
    if (cells == 0) return 0;
    const bool native = L.digits.encoding == WeightEncoding::native_signed;
    const double largest = native ? double(std::max<int32_t>(L.weight_qmax, 1))
                                  : double((int64_t(1) << L.digits.cell_bits) - 1);
    double sum = 0;
    for (int64_t g = 0; g < L.groups; ++g)
        for (int64_t r = 0; r < R; ++r)
            for (int64_t n = 0; n < L.N; ++n) {
                const int64_t a = L.array_weight(g, r, n);
                for (int c = 0; c < C; ++c) sum += std::abs(int(L.digits.digit_of(a, c)));
            }
    return sum / largest / cells;
}

// Sums, per layer, the slice densities of every input code an array receives; the MVMs
// themselves are the exact integer ones (the densities do not depend on the readout).
class DensityBackend : public quant::MvmBackend {
public:
    explicit DensityBackend(const DeviceSpec& d) : device_(d) {}

    void mvm(const quant::QuantLayer& layer, int group, const int32_t* x, int64_t vectors, int64_t* acc,
             const quant::MvmContext& ctx) override {
        exact_.mvm(layer, group, x, vectors, acc, ctx);
        const bool multi_bit = device_.input.mode == InputMode::multi_bit;
        const int slice_bits = multi_bit ? device_.input.bits : std::max(1, device_.input.dac_bits);
        const int code_bits = layer.input.bits;
        const int driven_slices = multi_bit ? 1 : (code_bits + slice_bits - 1) / slice_bits;
        const uint64_t code_mask = (uint64_t(1) << code_bits) - 1, slice_mask = (uint64_t(1) << slice_bits) - 1;
        const double slice_max = double(slice_mask);
        const int64_t codes = vectors * layer.rows();
        double sum = 0;
        const bool bipolar = layer.input.realization == quant::InputRealization::bipolar;
        for (int64_t i = 0; i < codes; ++i) {
            // Two's-complement codes are driven as their code_bits-wide bit pattern, bipolar ones as |x|
            // (the sign is the voltage's polarity).
            const uint64_t u = bipolar ? uint64_t(std::abs(x[i])) : uint64_t(uint32_t(x[i])) & code_mask;
            for (int p = 0; p < driven_slices; ++p) sum += double((u >> (p * slice_bits)) & slice_mask);
        }
        std::lock_guard<std::mutex> lock(mutex_);
        Sum& s = sums_[layer.name];
        s.slice_sum += sum / slice_max;
        s.codes += double(codes);
    }

    // Mean over the cycles the cost model charges (input_cycles); cycles beyond the code's
    // width drive nothing.
    std::optional<double> input_density(const std::string& layer) const {
        auto it = sums_.find(layer);
        if (it == sums_.end() || it->second.codes == 0) return std::nullopt;
        const int cycles = device_.input.mode == InputMode::multi_bit ? 1 : input_cycles(device_);
        return it->second.slice_sum / it->second.codes / double(cycles);
    }

private:
    struct Sum {
        double slice_sum = 0, codes = 0;
    };
    const DeviceSpec& device_;
    quant::ExactMvmBackend exact_;
    std::mutex mutex_;
    std::map<std::string, Sum> sums_;
};

}  // namespace

DataStats measure_data_stats(const quant::QuantizedModel& model, const std::vector<Tensor>& inputs,
                             const std::string& source) {
    if (inputs.size() != model.graph.inputs.size())
        throw InputError(fmt::format("calibration: {} expects {} input tensor(s), got {}", model.graph.source_file,
                                     model.graph.inputs.size(), inputs.size()));
    DensityBackend backend(model.device);
    quant::RunOptions run;
    run.backend = &backend;
    quant::quant_forward(model, run)(inputs, 0);  // a graph pinned to batch 1 runs item by item
    DataStats s;
    s.source = source;
    for (const quant::QuantLayer& L : model.layers) {
        LayerDensity& ld = s.layers[L.name];
        ld.weight_density = weight_density(L);
        ld.input_density = backend.input_density(L.name).value_or(0.0);
    }
    return s;
}

}  // namespace cim
