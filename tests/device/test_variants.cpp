// DeviceVariants (the fast path cim-sweep uses for thousands of --set variants)
// must equal load_device exactly: the same DeviceSpec, or the same error message.
#include <doctest/doctest.h>

#include "cim/device/device_spec.h"
#include "cim/error.h"

#include <cstdint>
#include <string>
#include <vector>

namespace {

struct Outcome {
    bool ok = false;
    cim::DeviceSpec spec;
    std::string error;
};

template <class F>
Outcome outcome(F f) {
    Outcome o;
    try {
        o.spec = f();
        o.ok = true;
    } catch (const cim::InputError& e) {
        o.error = e.what();
    }
    return o;
}

const std::vector<std::string> kOverrides = {
    "array.adc.bits=1", "array.adc.bits=4", "array.adc.bits=8", "array.adc.bits=12", "array.adc.bits=16",
    "array.adc.bits=17", "array.adc.bits=0", "array.adc.bits=abc", "array.adc.bits=+6", "array.adc.bits=0x10",
    "array.adc.bits=6.0", "cell.bits=1", "cell.bits=2", "cell.bits=4", "cell.bits=8", "weight.bits=2", "weight.bits=4",
    "weight.bits=16", "array.rows=32", "array.rows=256", "array.rows=4096", "array.cols=32", "array.cols=512",
    "array.usable_rows=16", "array.usable_rows=100000", "array.max_active_rows=8", "array.max_active_rows=1000",
    "array.adc.cols_per_adc=1", "array.adc.cols_per_adc=3", "array.adc.cols_per_adc=128", "noise.programming_sigma=0",
    "noise.programming_sigma=0.05", "noise.programming_sigma=-1", "noise.programming_sigma_mode=absolute",
    "noise.read_sigma=.inf", "energy.adc_pj_per_conversion=0", "energy.adc_pj_per_conversion=1.5",
    "energy.adc_pj_per_conversion=-2", "energy.adc_pj_per_conversion.value=3", "energy.row_drive_pj_per_row=2",
    "latency.pipelined=true", "latency.pipelined=false", "latency.pipelined=yes", "input.dac_bits=1",
    "input.dac_bits=2", "input.dac_bits=8", "input.mode=bit_serial", "input.mode=multi_bit", "input.mode=foo",
    "weight.encoding=differential", "weight.encoding=offset", "weight.encoding=twos_complement",
    "weight.encoding=native_signed", "array.adc.range=none", "array.adc.range=full_scale",
    "array.adc.range=calibrated_layer", "chip.max_chips=1", "chip.max_chips=4", "chip.max_chips=~",
    "quant.weight_bits=4", "quant.weight_bits=8", "name=renamed", "array.capacity_bits=~", "array.capacity_bits=1000",
    "array.adc.bitz=4", "description=\"quoted text\"", "input.signed_handling=pos_neg_split", "chip.tiles=3",
    "array.multi_layer=true", "noise.stuck_on_rate=0.6", "noise.stuck_off_rate=0.6", "output.bits=~",
    "array.adc.bits=", "array.adc.bits", "area.adc_um2=100", "latency.adc_ns_per_conversion=2",
};

}  // namespace

TEST_CASE("DeviceVariants::make equals load_device for single and paired overrides on every bundled device") {
    uint64_t state = 12345;
    auto next = [&] {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        return size_t(state >> 33);
    };
    int compared = 0, fast_ok = 0;
    for (const auto& name : cim::bundled_device_names()) {
        CAPTURE(name);
        const cim::DeviceVariants variants(name);
        CHECK(variants.base() == cim::load_device(name));
        std::vector<std::vector<std::string>> cases;
        for (const auto& o : kOverrides) cases.push_back({o});
        for (int i = 0; i < 60; ++i) cases.push_back({kOverrides[next() % kOverrides.size()], kOverrides[next() % kOverrides.size()]});
        for (const auto& sets : cases) {
            std::string shown;
            for (const auto& x : sets) shown += x + " ";
            CAPTURE(shown);
            const Outcome a = outcome([&] { return variants.make(sets); });
            const Outcome b = outcome([&] { return cim::load_device(name, sets); });
            REQUIRE(a.ok == b.ok);
            if (a.ok) {
                CHECK(a.spec == b.spec);
                ++fast_ok;
            } else {
                CHECK(a.error == b.error);
            }
            ++compared;
        }
    }
    CHECK(compared > 500);
    CHECK(fast_ok > 100);
}

TEST_CASE("DeviceVariants applies its base overrides first") {
    const cim::DeviceVariants v("isaac", {"array.capacity_bits=~"});
    const cim::DeviceSpec d = v.make({"array.rows=256", "array.cols=256", "array.adc.cols_per_adc=256"});
    CHECK(d == cim::load_device("isaac", {"array.capacity_bits=~", "array.rows=256", "array.cols=256", "array.adc.cols_per_adc=256"}));
    CHECK(d.array.usable_rows == 256);  // derived from the new rows
    CHECK(d.overrides.size() == 4);
    // Without the base override the stated capacity no longer matches: the same error as load_device.
    const cim::DeviceVariants plain("isaac");
    CHECK_THROWS_WITH_AS(plain.make({"array.rows=256"}), doctest::Contains("array.capacity_bits"), cim::InputError);
}

TEST_CASE("override_path_problem names bad --set paths with a suggestion") {
    CHECK(cim::override_path_problem("array.adc.bits") == "");
    CHECK(cim::override_path_problem("energy.adc_pj_per_conversion.value") == "");
    CHECK(cim::override_path_problem("array.adc.bit") == "'array.adc.bit': unknown key; did you mean array.adc.bits?");
    CHECK(cim::override_path_problem("arry.rows").find("'arry': unknown key; did you mean array") == 0);
    CHECK(cim::override_path_problem("array.adc") .find("is a section, not a key") == 0);
    CHECK(cim::override_path_problem("cell.bits.x") == "'cell.bits' is a key, not a section; nothing lies inside it");
    CHECK(cim::override_path_problem("array..rows").find("not a key path") == 0);
}
