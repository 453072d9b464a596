// Trained ADC ranges from a side file (cim-sim --adc-ranges, written by models/hwa_train.py):
// one range per layer, in the simulator's units (a column sum of one read: conductance digit units
// times the input plane value), replacing that layer's calibrated ranges. See docs/simulator.md.
#pragma once

#include <map>
#include <string>

namespace cim::sim {

struct AdcRangeFile {
    std::string path;
    std::map<std::string, double> ranges;  // layer name -> range (finite, > 0)
    std::map<std::string, int> lines;      // layer name -> its line in the file (for later errors)
};

// Reads
//     adc_ranges:
//       "/features/features.0/Conv": 17.5
// Bad YAML, a missing or extra top-level key, a duplicate layer or a value that is not a positive
// finite number is an InputError at file:line:column.
AdcRangeFile load_adc_ranges(const std::string& path);
AdcRangeFile parse_adc_ranges(const std::string& yaml_text, const std::string& path);

}  // namespace cim::sim
