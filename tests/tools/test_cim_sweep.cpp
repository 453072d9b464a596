// End-to-end tests of cim-sweep: the CSV and plot, bad input (exit 2 with the
// place), a sweep killed with SIGKILL and resumed (the rows of an uninterrupted
// run, byte for byte), and an MPI run over 2 ranks equal to a one-process run.
#include <doctest/doctest.h>

#include "cli_runner.h"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CIM_MPIEXEC
#define CIM_MPIEXEC ""
#endif

using cim::test::run_command;
using cim::test::tool;
namespace fs = std::filesystem;

namespace {

struct TempDir {
    fs::path dir;
    TempDir() {
        dir = fs::temp_directory_path() / ("cim_test_cim_sweep_" + std::to_string(::getpid()));
        fs::remove_all(dir);
        fs::create_directories(dir);
    }
    ~TempDir() { fs::remove_all(dir); }
    std::string file(const std::string& name) const { return (dir / name).string(); }
    std::string write(const std::string& name, const std::string& text) const {
        std::ofstream(file(name)) << text;
        return file(name);
    }
};

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

size_t lines_of(const std::string& path) {
    const std::string t = slurp(path);
    return size_t(std::count(t.begin(), t.end(), '\n'));
}

const std::string kSmall = R"yaml(device: isaac
set: {array.capacity_bits: ~}
models: [lenet5, mlp]
axes:
  - name: adc_bits
    paths: [array.adc.bits, energy.adc_pj_per_conversion, area.adc_um2]
    values: [[4, 0.79, 361], [6, 1.20, 627], [8, 1.67, 1200]]
  - path: cell.bits
    values: [1, 2, 4]
  - name: size
    paths: [array.rows, array.cols, array.adc.cols_per_adc]
    values: [64, 128, 256]
constraints: ["adc_bits <= ceil(log2(size * (2^cell.bits - 1) + 1))"]
)yaml";

// 30 x 40 x 25 = 30,000 cost-only points of one geometry: long enough to be killed part-way.
const std::string kLong = R"(device: isaac
models: [lenet5]
axes:
  - path: energy.adc_pj_per_conversion
    range: {from: 0.5, to: 3, count: 30}
  - path: energy.row_drive_pj_per_row
    range: {from: 0.1, to: 1, count: 40}
  - path: noise.programming_sigma
    range: {from: 0, to: 0.24, count: 25}
)";

const std::string kAccuracy = R"(device: wtm2101
models: [mlp]
axes:
  - path: noise.programming_sigma
    values: [0, 0.1]
  - name: adc_bits
    paths: [array.adc.bits, energy.adc_pj_per_conversion]
    values: [[4, 0.48], [8, 7.7]]
metrics: {accuracy: {images: 30, instances: 2, seed: 4}}
pareto: {minimize: [energy_j], maximize: [accuracy]}
)";

}  // namespace

TEST_CASE("cim-sweep writes one row per point, the Pareto front and a plot") {
    TempDir tmp;
    const std::string spec = tmp.write("small.yaml", kSmall);
    const auto r = run_command(tool("cim-sweep") + " " + spec + " --out " + tmp.file("small.csv") + " --json");
    REQUIRE(r.status == 0);
    CHECK(r.output.find("\"points\": 52") != std::string::npos);  // 2 models x 26 points within the constraint
    CHECK(r.output.find("\"evaluated\": 52") != std::string::npos);
    CHECK(lines_of(tmp.file("small.csv")) == 53);
    const std::string csv = slurp(tmp.file("small.csv"));
    CHECK(csv.rfind("id,model,adc_bits,cell.bits,size,status,latency_s,", 0) == 0);
    CHECK(csv.find(",1,\n") != std::string::npos);  // some row on the front
    const std::string svg = slurp(tmp.file("small.svg"));
    CHECK(svg.rfind("<svg", 0) == 0);
    CHECK(svg.find("Pareto front") != std::string::npos);
    // --dry-run lists the points.
    const auto dry = run_command(tool("cim-sweep") + " " + spec + " --dry-run");
    CHECK(dry.status == 0);
    CHECK(dry.output.find("52 points (27 proposed per model, 1 excluded by constraints") != std::string::npos);
}

TEST_CASE("cim-sweep: a device axis of a CIM chip, a digital NPU and an FPGA crossed with ADC bits") {
    TempDir tmp;
    const std::string spec = tmp.write("devices.yaml", R"(models: [mlp]
axes:
  - path: device
    values: [isaac, tpu_v1_like, fpga_dsp_zu7ev]
  - path: array.adc.bits
    values: [6, 8]
)");
    const auto r = run_command(tool("cim-sweep") + " " + spec + " --out " + tmp.file("devices.csv"));
    REQUIRE_MESSAGE(r.status == 0, r.output);
    const std::string csv = slurp(tmp.file("devices.csv"));
    CHECK(csv.rfind("id,model,device,array.adc.bits,status,", 0) == 0);
    CHECK(lines_of(tmp.file("devices.csv")) == 7);
    for (const char* d : {",isaac,6,ok,", ",isaac,8,ok,", ",tpu_v1_like,6,ok,", ",fpga_dsp_zu7ev,8,ok,"})
        CHECK(csv.find(d) != std::string::npos);
    // The ADC axis does not apply to the digital devices: skipped, and said so.
    CHECK(csv.find("array.adc.bits skipped: tpu_v1_like is kind digital_npu") != std::string::npos);
    // The FPGA's energy and area are unknown (no static power or die area published): empty cells, not 0.
    CHECK(csv.find(",fpga_dsp_zu7ev,6,ok,") != std::string::npos);
    CHECK(csv.find("energy unknown") != std::string::npos);
    const std::string svg = slurp(tmp.file("devices.svg"));
    CHECK(svg.find(">device</text>") != std::string::npos);  // the legend colours by device
    CHECK(svg.find(">tpu_v1_like</text>") != std::string::npos);
    CHECK(svg.find("on 3 devices") != std::string::npos);
    // `device:` and a device axis together: which devices are meant is unclear.
    const std::string both = tmp.write("both.yaml", "device: isaac\n" + slurp(spec));
    const auto bad = run_command(tool("cim-sweep") + " " + both + " --out " + tmp.file("both.csv"));
    CHECK(bad.status == 2);
    CHECK(bad.output.find("remove `device:`") != std::string::npos);
}

TEST_CASE("cim-sweep: bad input exits 2 and names the place") {
    TempDir tmp;
    const std::string bad = tmp.write("bad.yaml", "device: isaac\nmodels: [lenet5]\naxes:\n  - path: array.adc.bit\n    values: [4]\n");
    auto r = run_command(tool("cim-sweep") + " " + bad + " --out " + tmp.file("x.csv"));
    CHECK(r.status == 2);
    CHECK(r.output.find(bad + ":4:11: axes[0].path: array.adc.bit: 'array.adc.bit': unknown key; did you mean array.adc.bits?") !=
          std::string::npos);
    r = run_command(tool("cim-sweep") + " " + tmp.file("missing.yaml"));
    CHECK(r.status == 2);
    CHECK(r.output.find("missing.yaml: cannot open the sweep file") != std::string::npos);
    const std::string spec = tmp.write("small.yaml", kSmall);
    r = run_command(tool("cim-sweep") + " " + spec + " --limit 10");
    CHECK(r.status == 2);
    CHECK(r.output.find("computes no accuracy") != std::string::npos);
    // An existing CSV is neither overwritten nor continued without being asked.
    REQUIRE(run_command(tool("cim-sweep") + " " + spec + " --out " + tmp.file("a.csv")).status == 0);
    r = run_command(tool("cim-sweep") + " " + spec + " --out " + tmp.file("a.csv"));
    CHECK(r.status == 2);
    CHECK(r.output.find("the file exists; --resume continues the sweep it holds, --force overwrites it") != std::string::npos);
    // A CSV of another sweep is refused.
    const std::string other = tmp.write("other.yaml", kSmall + "metrics: {batch: 8}\n");
    r = run_command(tool("cim-sweep") + " " + other + " --out " + tmp.file("a.csv") + " --resume");
    CHECK(r.status == 2);
    CHECK(r.output.find("are not points of this sweep") != std::string::npos);
}

TEST_CASE("a sweep killed with SIGKILL part-way and resumed has exactly the rows of an uninterrupted run") {
    TempDir tmp;
    const std::string spec = tmp.write("long.yaml", kLong);
    const std::string whole = tmp.file("whole.csv"), part = tmp.file("part.csv");
    REQUIRE(run_command(tool("cim-sweep") + " " + spec + " --out " + whole + " --quiet").status == 0);
    REQUIRE(lines_of(whole) == 30001);

    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        const int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        const std::string exe = tool("cim-sweep");
        execl(exe.c_str(), exe.c_str(), spec.c_str(), "--out", part.c_str(), "--quiet", "--threads", "1", static_cast<char*>(nullptr));
        _exit(127);
    }
    // Kill it once it has written a good part of the rows, and before it finishes.
    size_t at_kill = 0;
    bool exited = false;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (std::chrono::steady_clock::now() < deadline) {
        int st = 0;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            exited = true;
            break;
        }
        std::error_code ec;
        if (fs::exists(part, ec) && fs::file_size(part, ec) > 200 * 1000) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            REQUIRE(WIFSIGNALED(st));
            at_kill = lines_of(part);
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    REQUIRE_FALSE(exited);  // the sweep is too fast to be killed part-way: make kLong longer
    MESSAGE("killed with " << at_kill << " of 30001 lines written");
    CHECK(at_kill > 100);
    CHECK(at_kill < 30001);

    const auto r = run_command(tool("cim-sweep") + " " + spec + " --out " + part + " --resume --json");
    REQUIRE(r.status == 0);
    // Every row written before the kill is kept, none is evaluated again.
    CHECK(r.output.find("\"resumed\": " + std::to_string(at_kill - 1)) != std::string::npos);
    CHECK(r.output.find("\"evaluated\": " + std::to_string(30001 - at_kill)) != std::string::npos);
    CHECK(slurp(part) == slurp(whole));
}

TEST_CASE("mpirun -np 2 cim-sweep writes the rows of a one-process run") {
    const std::string mpiexec = CIM_MPIEXEC;
    if (mpiexec.empty() || access(mpiexec.c_str(), X_OK) != 0) {
        MESSAGE("skipped: cim-sweep was built without MPI or mpirun is absent (apt-get install libopenmpi-dev openmpi-bin)");
        return;
    }
    TempDir tmp;
    // Two ranks on this machine over TCP on loopback (no shared memory needed, as in a container).
    // Open MPI refuses root unless told; LeakSanitizer (ASan builds) reports Open MPI's own allocations.
    const std::string mpi = "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 ASAN_OPTIONS=detect_leaks=0 " + mpiexec +
                            " -np 2 --oversubscribe --mca btl self,tcp --mca btl_tcp_if_include lo --mca oob_tcp_if_include lo" +
                            (getuid() == 0 ? " --allow-run-as-root" : "") + " ";
    for (const auto& [name, text] : {std::pair<std::string, std::string>{"cost", kSmall}, {"accuracy", kAccuracy}}) {
        const std::string metric = name;  // clang 14 cannot capture a structured binding
        CAPTURE(metric);
        const std::string spec = tmp.write(name + ".yaml", text);
        const std::string one = tmp.file(name + "-1.csv"), two = tmp.file(name + "-2.csv");
        REQUIRE(run_command(tool("cim-sweep") + " " + spec + " --out " + one + " --quiet --threads 1").status == 0);
        const auto r = run_command(mpi + tool("cim-sweep") + " " + spec + " --out " + two + " --quiet --threads 1 --json");
        CAPTURE(r.output);
        REQUIRE(r.status == 0);
        CHECK(r.output.find("\"ranks\": 2") != std::string::npos);
        CHECK(slurp(two) == slurp(one));
        CHECK(lines_of(two) > 4);
    }
}
