// Runs: the CSV in point order with the Pareto front, resumed runs equal whole
// runs, and a CSV that belongs to another sweep is refused.
#include <doctest/doctest.h>

#include <cim/error.h>
#include <cim/sweep/sweep.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <unistd.h>

using namespace cim;
namespace fs = std::filesystem;

namespace {

sweep::SweepSpec parse(const std::string& text) { return sweep::parse_sweep(text, "t.yaml", CIM_SOURCE_DIR); }

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

struct TempDir {
    fs::path dir;
    TempDir() {
        dir = fs::temp_directory_path() / ("cim_test_sweep_" + std::to_string(::getpid()));
        fs::create_directories(dir);
    }
    ~TempDir() { fs::remove_all(dir); }
    std::string file(const std::string& name) const { return (dir / name).string(); }
};

const std::string kSweep = R"(device: isaac
set: {array.capacity_bits: ~}
models: [lenet5, mlp]
axes:
  - name: adc_bits
    paths: [array.adc.bits, energy.adc_pj_per_conversion, area.adc_um2]
    values: [[4, 0.79, 361], [6, 1.2, 627], [8, 1.67, 1200]]
  - path: cell.bits
    values: [1, 2, 4]
  - path: array.adc.cols_per_adc
    values: [32, 128, 100]
)";

sweep::RunSummary run(const sweep::SweepSpec& spec, const std::string& out, bool resume = false, bool force = false) {
    static int argc = 0;
    static char** argv = nullptr;
    static sweep::Comm comm(&argc, &argv);
    sweep::RunOptions o;
    o.out = out;
    o.resume = resume;
    o.force = force;
    o.threads = 2;
    return sweep::run_sweep(spec, sweep::enumerate_points(spec), o, comm);
}

}  // namespace

TEST_CASE("a run writes every point once, in point order, with the Pareto front") {
    TempDir tmp;
    const auto spec = parse(kSweep);
    const auto ps = sweep::enumerate_points(spec);
    const auto sum = run(spec, tmp.file("a.csv"));
    CHECK(sum.points == 54);
    CHECK(sum.evaluated == 54);
    CHECK(sum.ok == 36);  // cols_per_adc 100 does not divide 128 columns
    const std::string text = slurp(tmp.file("a.csv"));
    std::istringstream in(text);
    std::string line;
    std::getline(in, line);
    CHECK(line == "id,model,adc_bits,cell.bits,array.adc.cols_per_adc,status,latency_s,throughput_inf_per_s,energy_j,power_w,"
                  "area_mm2,tops,tops_per_w,tops_per_mm2,arrays,chips,utilization,fits,pareto,note");
    int64_t i = 0, front = 0;
    while (std::getline(in, line)) {
        const auto f = sweep::split_csv_line(line);
        REQUIRE(f.size() == sweep::csv_columns(spec).size());
        CHECK(f[0] == ps.points[size_t(i)].id);
        if (f[5] == "ok") {
            CHECK((f[18] == "0" || f[18] == "1"));
            front += f[18] == "1";
        } else {
            CHECK(f[5] == "invalid");
            CHECK(f[18] == "");
            CHECK(f[19].find("does not divide") != std::string::npos);
        }
        ++i;
    }
    CHECK(i == 54);
    CHECK(front == sum.on_front);
    CHECK(front >= 2);  // a front per model
}

TEST_CASE("resuming a cut CSV (a torn last line too) gives the bytes of a whole run") {
    TempDir tmp;
    const auto spec = parse(kSweep);
    run(spec, tmp.file("whole.csv"));
    const std::string whole = slurp(tmp.file("whole.csv"));
    for (size_t cut : {size_t(0), size_t(40), whole.find('\n') + 1, whole.size() / 3, whole.size() / 2 + 17, whole.size() - 1}) {
        CAPTURE(cut);
        {
            std::ofstream o(tmp.file("part.csv"), std::ios::binary | std::ios::trunc);
            o << whole.substr(0, cut);
        }
        const auto sum = run(spec, tmp.file("part.csv"), true);
        CHECK(slurp(tmp.file("part.csv")) == whole);
        CHECK(sum.resumed + sum.evaluated == 54);
    }
    // A finished file: nothing to do, nothing changes.
    const auto again = run(spec, tmp.file("whole.csv"), true);
    CHECK(again.evaluated == 0);
    CHECK(again.resumed == 54);
    CHECK(slurp(tmp.file("whole.csv")) == whole);
}

TEST_CASE("an existing CSV is continued only with resume, and only when it belongs to the sweep") {
    TempDir tmp;
    const auto spec = parse(kSweep);
    run(spec, tmp.file("a.csv"));
    CHECK_THROWS_WITH_AS(run(spec, tmp.file("a.csv")), doctest::Contains("the file exists; --resume continues"), InputError);
    CHECK_NOTHROW(run(spec, tmp.file("a.csv"), false, true));
    // Other settings: other IDs.
    const auto other = parse(kSweep + "metrics: {batch: 2}\n");
    CHECK_THROWS_WITH_AS(run(other, tmp.file("a.csv"), true), doctest::Contains("are not points of this sweep"), InputError);
    // Other columns.
    const auto fewer = parse(R"(device: isaac
models: [lenet5]
axes: [{path: cell.bits, values: [1, 2]}]
)");
    CHECK_THROWS_WITH_AS(run(fewer, tmp.file("a.csv"), true), doctest::Contains("its columns differ from this sweep's"), InputError);
}

TEST_CASE("the Pareto front") {
    using V = std::vector<std::vector<double>>;
    const double nan = std::nan("");
    CHECK(sweep::pareto_front(V{{1, 5}, {2, 4}, {3, 3}, {2, 5}, {4, 4}, {3, 3}, {nan, 0}}) ==
          std::vector<bool>{true, true, true, false, false, true, false});
    CHECK(sweep::pareto_front(V{{1, 1, 1}, {0, 2, 2}, {2, 0, 2}, {2, 2, 0}, {2, 2, 2}}) ==
          std::vector<bool>{true, true, true, true, false});
    CHECK(sweep::pareto_front(V{}).empty());
}

TEST_CASE("CSV fields with commas and quotes round-trip") {
    CHECK(sweep::split_csv_line("a,\"b,c\",\"d \"\"e\"\"\",,f\n") == std::vector<std::string>{"a", "b,c", "d \"e\"", "", "f"});
}
