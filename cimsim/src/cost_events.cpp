// Event counts of the cost model: how many reads, conversions, bytes, ... a
// layer causes, with no prices (docs/cost-model.md).
#include "cost_internal.h"

#include <cim/device/device_spec.h>

#include <algorithm>
#include <utility>
#include <vector>

namespace cim::cost_detail {

Geometry::Geometry(const DeviceSpec& dev) : d(dev) {
    R = d.array.usable_rows;
    C = d.array.usable_cols;
    mar = std::max(1, d.array.max_active_rows);
    cin = input_cycles(d);
    cpo = columns_per_weight(d);
    in_bytes = d.input.bits / 8.0;
    act_bytes = in_bytes;
    out_bytes = d.output.bits.value_or(d.quant.bias_bits) / 8.0;
    has_adc = d.array.adc.range != AdcRange::none;
    cpa = has_adc ? d.array.adc.cols_per_adc : 0;
    adcs = adcs_per_array(d);
    readings_per_col = readings_per_column(d);
    mpt = d.chip.macros_per_tile;
    per_chip = double(d.chip.tiles) * mpt;
}

ArrayEvents array_events(const Geometry& v, const LayerMapping& L, bool has_bias) {
    struct Cls { double rows, outputs, count, reference_sets = 1; };  // packed groups: a reference set each
    std::vector<Cls> cls;
    double segments = 1;  // partial sums per output (row tiles x passes)
    const double Rv = double(L.rows_per_vector), N = double(L.n), G = double(L.groups);
    double bias_tiles = 0;
    if (L.groups_per_array > 1) {
        const double gpa = double(L.groups_per_array);
        const double full = std::floor(G / gpa), rem = G - full * gpa;
        if (full > 0) cls.push_back({Rv * gpa, N * gpa, full, gpa});
        if (rem > 0) cls.push_back({Rv * rem, N * rem, 1, rem});
        segments = ceil_div(Rv * gpa, v.mar);
        bias_tiles = full + (rem > 0 ? 1 : 0);
    } else {
        const double RT = double(L.row_tiles), CT = double(L.col_tiles), opa = double(L.outputs_per_array);
        const double last_r = Rv - (RT - 1) * v.R, last_o = N - (CT - 1) * opa;
        std::vector<std::pair<double, double>> rows = {{v.R, RT - 1}, {last_r, 1}};
        std::vector<std::pair<double, double>> outs = {{opa, CT - 1}, {last_o, 1}};
        for (auto [r, rc] : rows)
            for (auto [o, oc] : outs)
                if (rc > 0 && oc > 0 && r > 0 && o > 0) cls.push_back({r, o, rc * oc * G});
        segments = (RT - 1) * ceil_div(v.R, v.mar) + ceil_div(last_r, v.mar);
        bias_tiles = CT * G;
    }
    ArrayEvents e;
    double cols_sum = 0;
    for (const Cls& c : cls) {
        const double cols = c.outputs * double(L.cols_per_output) + c.reference_sets * double(L.reference_cols);  // the layer's own width
        const double passes = ceil_div(c.rows, v.mar);
        e.row_drives += v.cin * c.rows * c.count;
        e.col_reads += v.cin * passes * cols * c.count;
        e.cells += v.cin * c.rows * cols * c.count;
        e.in_bytes += c.rows * v.in_bytes * c.count;
        e.out_bytes += c.outputs * v.out_bytes * c.count;
        e.passes_max = std::max(e.passes_max, passes);
        e.cols_max = std::max(e.cols_max, cols);
        e.tiles += c.count;
        cols_sum += cols * c.count;
    }
    if (has_bias && v.d.array.bias_rows > 0 && e.tiles > 0) {
        // Bias rows of the first row tile are driven with the inputs.
        const double br = v.d.array.bias_rows;
        e.row_drives += v.cin * br * bias_tiles;
        e.cells += v.cin * br * (cols_sum / e.tiles) * bias_tiles;
    }
    // An analog differential pair's two columns are read (both bit lines conduct) and converted once.
    const double readings = e.col_reads * v.readings_per_col;
    e.conversions = v.has_adc ? readings : 0;
    const double outputs = N * G;
    e.shift_adds = readings + outputs * (segments - 1);
    // Offset subtracted digitally (weight.offset_reference digital): no reference columns are read;
    // the periphery sums each input vector once and subtracts offset x that sum from every output.
    // The off-cell leak subtracted digitally (weight.leak_reference digital) costs the same: the input
    // sum once per vector, one subtraction per output.
    if ((v.d.weight.encoding == WeightEncoding::offset && v.d.weight.offset_reference == OffsetReference::digital) ||
        v.d.weight.leak_reference == LeakReference::digital)
        e.shift_adds += Rv * G + outputs;
    e.requant_ops = outputs;
    // All-zero tiles the mapper skipped are not read.
    if (e.tiles > 0 && L.arrays < e.tiles) {
        const double s = double(L.arrays) / e.tiles;
        for (double* x : {&e.row_drives, &e.col_reads, &e.cells, &e.conversions, &e.shift_adds, &e.in_bytes, &e.out_bytes})
            *x *= s;
    }
    return e;
}

}  // namespace cim::cost_detail
