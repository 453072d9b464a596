// Which nodes the quantizer programs: exactly the weight-stationary layers the mapper places.
#include <cim/quant/quantizer.h>

namespace cim::quant {

std::vector<MvmView> find_mvm_layers(const Graph& g, std::vector<std::string>* skipped) {
    std::vector<NotWeightStationary> not_stationary;
    std::vector<MvmView> views = weight_stationary_layers(g, &not_stationary);
    if (skipped)
        for (const auto& s : not_stationary) {
            const Node& n = g.nodes[size_t(s.node)];
            skipped->push_back("node '" + n.name + "' (" + std::string(op_name(n.op)) + ") runs on the digital units: " + s.reason);
        }
    return views;
}

}  // namespace cim::quant
