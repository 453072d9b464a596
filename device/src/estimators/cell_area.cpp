// Cell-array area from the technology's cell size in F^2 times the node squared,
// so an array's area follows rows x columns and the node.
//
// Cell sizes from NeuroSim (DNN_NeuroSim V1.3/V1.4 Inference_pytorch/NeuroSIM/Param.cpp):
//   SRAM: "suggested SRAM cell size above 22nm: 160F^2; at 14nm: 300F^2; at 10nm: 400F^2;
//          at 7nm: 600F^2" (8 F x 20 F above 22 nm), interpolated log-log between those nodes;
//   1T1R (RRAM, PCM): heightInFeatureSize1T1R = 4, widthInFeatureSize1T1R = 12, i.e. 48 F^2.
// NOR flash and STT-MRAM have no NeuroSim size here: their entries must give `cell_f2`.
#include <array>
#include <cmath>

#include "estimator.h"

namespace cim::device_detail {

std::optional<double> default_cell_f2(Technology t, double node_nm) {
    switch (t) {
        case Technology::sram_analog:
        case Technology::sram_digital: {
            constexpr std::array<std::pair<double, double>, 4> kSram = {{{22, 160}, {14, 300}, {10, 400}, {7, 600}}};
            if (node_nm >= 22) return 160.0;
            if (node_nm < 7) return std::nullopt;
            for (std::size_t i = 0; i + 1 < kSram.size(); ++i) {
                const auto [n_hi, f_hi] = kSram[i];
                const auto [n_lo, f_lo] = kSram[i + 1];
                if (node_nm <= n_hi && node_nm >= n_lo) {
                    const double t_ = std::log(node_nm / n_lo) / std::log(n_hi / n_lo);
                    return std::exp(std::log(f_lo) + t_ * (std::log(f_hi) - std::log(f_lo)));
                }
            }
            return std::nullopt;
        }
        case Technology::rram:
        case Technology::pcm: return 48.0;
        case Technology::mram:
        case Technology::nor_flash:
        case Technology::fefet: return std::nullopt;
    }
    return std::nullopt;
}

ParamDecl cell_f2_param() {
    return factor_param("cell_f2", "F^2", "area of one cell in units of the node squared");
}

void add_cell_f2(const DeviceSpec& d, Inputs& in) {
    if (auto f2 = default_cell_f2(d.technology, d.node_nm))
        in.add("cell_f2", *f2, "F^2", "technology (NeuroSim cell size for it and node_nm)");
}

std::vector<Estimator> cell_area_estimators() {
    Estimator e;
    e.name = "cell_area";
    e.summary = "cell array area: rows x cols x cell size (F^2) x node^2";
    e.reference = "cell sizes in F^2: NeuroSim Param.cpp (SRAM 160 F^2 above 22 nm, 300/400/600 F^2 at 14/10/7 nm; "
                  "1T1R 4 F x 12 F)";
    e.serves = {"area.array_um2"};
    e.inputs = {{"rows", "rows", "array.rows"}, {"cols", "columns", "array.cols"}, {"node_nm", "nm", "node_nm"},
                {"cell_f2", "F^2", "technology (NeuroSim cell size)"}};
    e.params = {cell_f2_param()};
    e.gather = [](const DeviceSpec& d, const std::string&, Inputs& in) -> std::string {
        in.add("rows", d.array.rows, "rows", "array.rows");
        in.add("cols", d.array.cols, "columns", "array.cols");
        in.add("node_nm", d.node_nm, "nm", "node_nm");
        add_cell_f2(d, in);
        return "";
    };
    e.evaluate = [](const Inputs& in, const std::string&, std::string_view* formula) {
        if (formula) *formula = "A = rows * cols * cell_f2 * node_nm^2";
        return in["rows"] * in["cols"] * in["cell_f2"] * in["node_nm"] * in["node_nm"] * 1e-6;
    };
    return {e};
}

}  // namespace cim::device_detail
