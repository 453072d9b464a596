// --set path.to.key=value overrides: applied to the YAML tree before
// validation, validated like the file, errors naming the --set text.
#include "device_test_util.h"

using device_test::error_of;
using device_test::kTiny;

TEST_CASE("valid overrides change, add and unset keys") {
    const std::vector<std::string> sets = {
        "array.adc.bits=5",                    // change
        "noise.read_sigma=0.02",               // a section the file does not have
        "chip.max_chips=~",                    // unset an optional key...
        "energy.chip_link_pj_per_byte=3",      // ...which makes the chip links required
        "latency.chip_link_ns_per_byte=0.5",
        "energy.adc_pj_per_conversion.value=2",  // inside a {value, source} cost
        "array.adc.range=calibrated_column",   // an enum
        "latency.pipelined=false",
    };
    const cim::DeviceSpec d = cim::parse_device(kTiny, "tiny.yaml", sets);
    CHECK(d.array.adc.bits == 5);
    CHECK(d.noise.read_sigma == doctest::Approx(0.02));
    CHECK_FALSE(d.chip.max_chips.has_value());
    REQUIRE(d.energy.chip_link_pj_per_byte.has_value());
    CHECK(d.energy.chip_link_pj_per_byte->value == 3);
    // A cost set on the command line records where it came from.
    CHECK(d.energy.chip_link_pj_per_byte->source == "--set energy.chip_link_pj_per_byte=3");
    CHECK(d.energy.adc_pj_per_conversion->value == 2);
    CHECK(d.energy.adc_pj_per_conversion->source == "test");
    CHECK(d.array.adc.range == cim::AdcRange::calibrated_column);
    CHECK_FALSE(d.latency.pipelined);
    CHECK(d.overrides == sets);
}

TEST_CASE("later overrides win, and derived defaults follow overridden keys") {
    const cim::DeviceSpec d =
        cim::parse_device(kTiny, "tiny.yaml", {"array.rows=32", "array.rows=128", "weight.bits=6"});
    CHECK(d.array.rows == 128);
    CHECK(d.array.usable_rows == 128);
    CHECK(d.array.max_active_rows == 128);
    CHECK(d.weight.clip == 31);
    CHECK(d.quant.weight_bits == 6);
}

TEST_CASE("a bad override names the --set text") {
    CHECK(error_of(kTiny, {"array.adc.bitz=6"}) ==
          "--set array.adc.bitz=6: array.adc.bitz: unknown key; did you mean array.adc.bits?");
    CHECK(error_of(kTiny, {"array.adc.bits=abc"}) ==
          "--set array.adc.bits=abc: array.adc.bits: expected an integer, got 'abc'");
    CHECK(error_of(kTiny, {"array.adc.bits=17"}) ==
          "--set array.adc.bits=17: array.adc.bits: 17 is out of range: must be in [1, 16]");
    CHECK(error_of(kTiny, {"array.adc.bits"}) == "--set array.adc.bits: expected path.to.key=value");
    CHECK(error_of(kTiny, {"=5"}) == "--set =5: expected path.to.key=value");
    CHECK(error_of(kTiny, {"array..bits=5"}) ==
          "--set array..bits=5: array..bits: not a key path (expected names joined by '.')");
    CHECK(error_of(kTiny, {"name.first=x"}) ==
          "--set name.first=x: name: is not a section; cannot set name.first inside it");
    CHECK(error_of(kTiny, {"array.rows=[1"}) ==
          "--set array.rows=[1: array.rows: the value is not valid YAML: end of sequence flow not found");
    CHECK(error_of(kTiny, {"gpu.cores=8"}) ==
          "--set gpu.cores=8: gpu: unknown key; expected one of: name, description, kind, technology, node_nm, "
          "supply_v, chip, array, cell, weight, input, output, energy, latency, area, noise, quant, digital");
}

TEST_CASE("override errors come in the order given, after the file's") {
    CHECK(error_of(device_test::edited(kTiny, "rows: 64", "rows: 0"), {"cell.bits=0", "array.adc.bits=x"}) ==
          "tiny.yaml:10:9: array.rows: 0 is out of range: must be in [1, 65536]\n"
          "--set cell.bits=0: cell.bits: 0 is out of range: must be in [1, 8]\n"
          "--set array.adc.bits=x: array.adc.bits: expected an integer, got 'x'");
}

TEST_CASE("an override can break a cross-field rule the file then reports") {
    CHECK(error_of(kTiny, {"array.adc.range=none", "array.adc.bits=~", "array.adc.cols_per_adc=~"}) ==
          "tiny.yaml:26:26: energy.adc_pj_per_conversion: given, but array.adc.range is none (no ADC); remove it\n"
          "tiny.yaml:35:26: latency.adc_ns_per_conversion: given, but array.adc.range is none (no ADC); remove it\n"
          "tiny.yaml:42:12: area.adc_um2: given, but array.adc.range is none (no ADC); remove it");
}

TEST_CASE("load_device takes a bundled name and overrides") {
    const cim::DeviceSpec d = cim::load_device("isaac", {"array.adc.bits=9"});
    CHECK(d.array.adc.bits == 9);
    CHECK(d.source_path.size() >= std::string("configs/isaac.yaml").size());
    CHECK(d.source_path.substr(d.source_path.size() - 18) == "configs/isaac.yaml");
}

TEST_CASE("a bundled device with two's-complement inputs and a multi-bit DAC is rejected at load, for every tool") {
    try {
        (void)cim::load_device("mram_princeton22", {"input.bits=8", "input.dac_bits=2"});
        FAIL("expected an InputError");
    } catch (const cim::InputError& e) {
        const std::string what = e.what();
        // Named by the --set text, like every override error.
        CHECK(what.find("--set input.dac_bits=2: input.dac_bits: 2 with input.signed_handling twos_complement") !=
              std::string::npos);
    }
    CHECK_NOTHROW((void)cim::load_device("mram_princeton22", {"input.bits=8", "input.dac_bits=2",
                                                               "input.signed_handling=offset"}));
}

TEST_CASE("device_fields lists every schema key with the value loaded (what Python's cimforge.Device shows)") {
    const cim::DeviceSpec d = cim::load_device("isaac", {"array.adc.bits=6", "chip.max_chips=~"});
    const std::vector<cim::DeviceField> fields = cim::device_fields(d);
    auto find = [&](const std::string& path) -> const cim::DeviceFieldValue& {
        for (const auto& f : fields)
            if (f.path == path) return f.value;
        FAIL("no field " << path);
        throw std::logic_error("unreachable");
    };
    CHECK(std::get<long long>(find("array.adc.bits")) == 6);
    CHECK(std::get<long long>(find("array.rows")) == d.array.rows);
    CHECK(std::get<std::string>(find("weight.encoding")) == "offset");
    CHECK(std::get<bool>(find("latency.pipelined")) == d.latency.pipelined);
    CHECK(std::get<double>(find("chip.clock_mhz")) == d.chip.clock_mhz);
    CHECK(std::holds_alternative<std::monostate>(find("chip.max_chips")));  // unset optional
    const cim::Cost& adc = std::get<cim::Cost>(find("energy.adc_pj_per_conversion"));
    CHECK(adc.value == d.energy.adc_pj_per_conversion->value);
    CHECK(!fields.empty());
    for (const auto& f : fields) CHECK(!f.path.empty());
}
