// ADC estimators: SAR, flash and ramp converters priced from the Murmann ADC
// survey's efficiency frontier (energy), the converter's structure (conversion
// time) and NeuroSim's transistor counts (area).
//
// Energy per conversion (all three architectures): the survey's Walden frontier
// E = FoM_W * 2^bits (ENOB taken as the nominal bits), and, when `fom_s_db` is given,
// not below the Schreier frontier E = 1 / (2 * 10^((FoM_S - SNDR) / 10)) with
// SNDR = 6.02 bits + 1.76 dB (definitions: /work/shared/reference/devices.md 5.1;
// the Schreier form is hwcomponents-adc's, Andrulis et al., arXiv 2404.06553). The
// Walden figure is taken at `fom_node_nm` and scaled to the device's node and supply
// by Stillmaker & Baas (the comparator and logic energy that dominates at low
// resolution scales with the technology); the Schreier floor (thermal noise) does not.
//
// Sample rate: the survey's frontier is flat in energy per conversion up to a corner
// rate and rises above it. hwcomponents-adc (Andrulis et al., arXiv 2404.06553), fitted
// to the Murmann survey, bounds FoM_S by min(213.78 - 2.872 ln f_s, 128.31 + 3.2205 ENOB)
// dB (its adc_data/model.yaml "frequency" and "max_by_enob" coefficients, as a public
// transcription of that file gives them; the file itself was not read); the two meet
// at the corner ln f_c = (85.47 - 3.2205 bits) / 2.872 (1.07 GS/s at 8 bits, 10 GS/s at
// 6), and above it the energy grows as (f_s / f_c)^(2.872 ln 10 / 10) = (f_s / f_c)^0.661.
// That corner agrees with devices.md 5.2: single SAR converters up to 1 GS/s sit on the
// frontier, time-interleaved multi-GS/s ones 1.5-5x above it.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "estimator.h"

namespace cim::device_detail {

namespace {

enum class AdcKind { sar, flash, ramp };

constexpr const char* kEnergyPath = "energy.adc_pj_per_conversion";
constexpr const char* kLatencyPath = "latency.adc_ns_per_conversion";
constexpr const char* kAreaPath = "area.adc_um2";

// hwcomponents-adc's FoM_S bounds (see the top of this file), in dB and ln(Hz).
constexpr double kFomsRateIntercept_db = 213.78;
constexpr double kFomsRateSlope_db_per_ln_hz = 2.872;
constexpr double kFomsCeilingAt0Bits_db = 128.31;
constexpr double kFomsCeilingPerBit_db = 3.2205;

// Energy above the frontier's corner relative to below it: 1 up to f_c(bits).
double rate_factor(double bits, double sample_rate_gsps) {
    if (!(sample_rate_gsps > 0)) return std::nan("");  // reported as a figure that is not a number
    const double ln_corner_hz =
        (kFomsRateIntercept_db - kFomsCeilingAt0Bits_db - kFomsCeilingPerBit_db * bits) / kFomsRateSlope_db_per_ln_hz;
    const double over = std::log(sample_rate_gsps * 1e9) - ln_corner_hz;
    return std::exp(std::max(0.0, over) * kFomsRateSlope_db_per_ln_hz * std::log(10.0) / 10.0);
}

double walden_pj(const Inputs& in) {
    const double tech = stillmaker_energy_ratio(in["node_nm"], in["supply_v"], in["fom_node_nm"], in["supply_v"]);
    const double rate = in.has("sample_rate_gsps") ? rate_factor(in["bits"], in["sample_rate_gsps"]) : 1.0;
    return in["fom_w_fj"] * 1e-3 * std::exp2(in["bits"]) * tech * rate;
}

// The conversion rate the device asks of one ADC: cols_per_adc conversions (one per pair of
// them with an analog differential readout) in the time the cost model gives them (the whole
// cycle when pipelined, else the conversions' own time); 0 when neither time is given.
double demanded_rate_gsps(const DeviceSpec& d) {
    const double cols = std::ceil(d.array.adc.cols_per_adc * readings_per_column(d));
    const double read_ns = d.latency.array_read_ns.value;
    const double convert_ns = cols * (d.latency.adc_ns_per_conversion ? d.latency.adc_ns_per_conversion->value : 0.0);
    const double window_ns = d.latency.pipelined ? std::max(read_ns, convert_ns) : (convert_ns > 0 ? convert_ns : read_ns);
    return window_ns > 0 ? cols / window_ns : 0.0;
}

double evaluate(AdcKind kind, const Inputs& in, const std::string& path, std::string_view* formula) {
    const double bits = in["bits"];
    if (path == kEnergyPath) {
        double e = walden_pj(in);
        if (formula)
            *formula = "E = FoM_W * 2^bits * S(node_nm, supply_v) / S(fom_node_nm, supply_v) * R(bits, "
                       "sample_rate_gsps) (S: Stillmaker & Baas energy factor; R = max(1, f_s / f_c(bits))^0.661, "
                       "ln f_c = (85.47 - 3.2205 bits) / 2.872)";
        if (in.has("fom_s_db")) {
            const double sndr_db = 6.02 * bits + 1.76;
            const double schreier_pj = 1e12 / (2.0 * std::pow(10.0, (in["fom_s_db"] - sndr_db) / 10.0));
            e = std::max(e, schreier_pj);
            if (formula)
                *formula = "E = max(FoM_W * 2^bits * S(node_nm, supply_v) / S(fom_node_nm, supply_v) * R(bits, "
                           "sample_rate_gsps), 1 / (2 * 10^((FoM_S - (6.02 bits + 1.76)) / 10))) (S: Stillmaker & Baas "
                           "energy factor; R = max(1, f_s / f_c(bits))^0.661, ln f_c = (85.47 - 3.2205 bits) / 2.872)";
        }
        return e;
    }
    if (path == kLatencyPath) {
        const double step = in["step_ns"];
        switch (kind) {
            case AdcKind::sar:
                if (formula) *formula = "t = bits * step_ns (one comparison per bit)";
                return bits * step;
            case AdcKind::flash:
                if (formula) *formula = "t = step_ns (all comparators at once)";
                return step;
            case AdcKind::ramp:
                if (formula) *formula = "t = 2^bits * step_ns (the ramp steps through every level)";
                return std::exp2(bits) * step;
        }
    }
    // Area: minimum-size transistors of area transistor_area_f2 * node^2 (NeuroSim).
    const double f2_um2 = in["transistor_area_f2"] * in["node_nm"] * in["node_nm"] * 1e-6;
    switch (kind) {
        case AdcKind::sar:
        case AdcKind::ramp:
            // NeuroSim SarADC: NMOS 269 + (bits-1) 109, PMOS 209 + (bits-1) 73 minimum transistors;
            // a ramp converter's comparator and bits-wide counter taken as the same count.
            if (formula) *formula = "A = (478 + 182 (bits - 1)) * transistor_area_f2 * node_nm^2";
            return (478.0 + 182.0 * (bits - 1)) * f2_um2;
        case AdcKind::flash:
            // NeuroSim MultilevelSenseAmp: 2^bits - 1 sense amplifiers of 9 minimum transistors.
            if (formula) *formula = "A = (2^bits - 1) * 9 * transistor_area_f2 * node_nm^2";
            return (std::exp2(bits) - 1) * 9.0 * f2_um2;
    }
    return 0;
}

Estimator make(AdcKind kind, std::string name, std::string summary, std::string latency_ref) {
    Estimator e;
    e.name = std::move(name);
    e.summary = std::move(summary);
    e.reference = "energy: Murmann ADC survey frontier (devices.md 5.1-5.2), its sample-rate corner as fitted by "
                  "hwcomponents-adc (Andrulis et al., arXiv 2404.06553), Stillmaker & Baas 2017 node scaling; "
                  "time: " + latency_ref + "; area: NeuroSim SarADC / MultilevelSenseAmp transistor counts (devices.md 5.3)";
    e.serves = {kEnergyPath, kLatencyPath, kAreaPath};
    e.inputs = {{"bits", "bits", "array.adc.bits"}, {"node_nm", "nm", "node_nm"}, {"supply_v", "V", "supply_v"},
                {"sample_rate_gsps", "GS/s", "array.adc.cols_per_adc per array cycle (energy only)"}};
    e.params = {
        default_param("fom_w_fj", "fJ per conversion step", "Walden figure of merit P / (f_s 2^ENOB) at the frontier",
                      10.0, "Murmann survey state of the art (devices.md 5.2 rule of thumb, 10 fJ/step)", {kEnergyPath}),
        default_param("fom_node_nm", "nm", "node at which fom_w_fj holds", 40.0,
                      "median node of the survey's pure-SAR 10 MS/s-1 GS/s entries (devices.md 5.2)", {kEnergyPath}),
        optional_param("fom_s_db", "dB",
                       "Schreier figure of merit SNDR + 10 log10(f_s / 2P) at the frontier; absent: no floor",
                       {kEnergyPath}),
        default_param("step_ns", "ns", "one comparison (SAR, flash) or one ramp step", 1.0,
                      "NeuroSim SarADC latency (log2 L + 1) ns: about 1 ns per bit (devices.md 5.3)", {kLatencyPath}),
        factor_param("transistor_area_f2", "F^2", "area of one minimum-size transistor with its wiring", {kAreaPath}),
        optional_param("sample_rate_gsps", "GS/s",
                       "conversions per second of one ADC; absent: the rate the device demands (cols_per_adc per "
                       "array cycle)",
                       {kEnergyPath}),
    };
    e.gather = [](const DeviceSpec& d, const std::string& path, Inputs& in) -> std::string {
        if (d.array.adc.range == AdcRange::none) return "the device has no ADC (array.adc.range: none)";
        in.add("bits", d.array.adc.bits, "bits", "array.adc.bits");
        if (path == kLatencyPath) return "";
        if (path == kAreaPath) {
            in.add("node_nm", d.node_nm, "nm", "node_nm");
            return "";
        }
        add_node_and_supply(d, in);
        if (const double rate = demanded_rate_gsps(d); rate > 0)
            in.add("sample_rate_gsps", rate, "GS/s",
                   "array.adc.cols_per_adc / the conversions' window: latency.array_read_ns or cols_per_adc x "
                   "latency.adc_ns_per_conversion, as the cost model's cycle");
        return scaling_range_problem(d.node_nm);
    };
    e.evaluate = [kind](const Inputs& in, const std::string& path, std::string_view* formula) {
        return evaluate(kind, in, path, formula);
    };
    return e;
}

}  // namespace

std::vector<Estimator> adc_estimators() {
    std::vector<Estimator> v;
    v.push_back(make(AdcKind::sar, "adc_sar", "successive-approximation ADC", "one comparison per bit"));
    v.push_back(make(AdcKind::flash, "adc_flash", "flash ADC (2^bits - 1 comparators)", "one comparison"));
    v.push_back(make(AdcKind::ramp, "adc_ramp", "ramp / integrating ADC", "2^bits ramp steps"));
    return v;
}

}  // namespace cim::device_detail
