// Data densities measured from what the chip is programmed with: the quantizer's cell
// digits and the input codes the arrays receive, so the cost model's data-dependent
// energies follow the encodings the quantizer and the simulator use (quant/program.h)
// instead of a second implementation of them.
#pragma once

#include <cim/cimsim/cost_model.h>
#include <cim/quant/program.h>

#include <string>
#include <vector>

namespace cim {

// For every QuantLayer of `model`:
//  - weight_density: the mean stored digit over the largest digit of the cells (2^cell_bits - 1;
//    |code| / weight_qmax for native signed cells), over every array row (both row sets of a
//    pos_neg_split layer) and every column of every output;
//  - input_density: the integer program run on `inputs` (one tensor per graph input, items on
//    axis 0), and each row's code as the array receives it, cut into the slices the device drives
//    (input.dac_bits per bit-serial cycle, or the whole code on a multi-bit DAC), each slice over
//    its largest value, averaged over the cycles the cost model counts (cim::input_cycles).
DataStats measure_data_stats(const quant::QuantizedModel& model, const std::vector<Tensor>& inputs,
                             const std::string& source);

}  // namespace cim
