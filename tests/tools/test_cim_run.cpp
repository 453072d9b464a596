// End-to-end tests of cim-run: the exit-status contract, PASS/FAIL, messages.
#include <doctest/doctest.h>

#include "cli_runner.h"
#include "onnx_builder.h"

#include <filesystem>
#include <fstream>

using namespace cim::test;
namespace fs = std::filesystem;

static const std::string kCase = "/usr/share/libonnx-testdata/data/node/test_conv_with_strides_padding";

TEST_CASE("cim-run --help and bad usage") {
    auto help = run_command(tool("cim-run") + " --help");
    CHECK(help.status == 0);
    CHECK(help.output.find("--test-data") != std::string::npos);
    auto none = run_command(tool("cim-run"));
    CHECK(none.status == 2);
    auto bogus = run_command(tool("cim-run") + " x.onnx --no-such-flag");
    CHECK(bogus.status == 2);
}

TEST_CASE("cim-run --test-data passes an ONNX backend case and fails a tampered one") {
    auto ok = run_command(tool("cim-run") + " " + kCase + "/model.onnx --test-data " + kCase + "/test_data_set_0");
    CHECK(ok.status == 0);
    CHECK(ok.output.find("PASS") != std::string::npos);
    CHECK(ok.output.find("max abs error") != std::string::npos);

    TempDir tmp;
    fs::copy_file(kCase + "/test_data_set_0/input_0.pb", tmp.file("input_0.pb"));
    fs::copy_file(kCase + "/test_data_set_0/input_1.pb", tmp.file("input_1.pb"));
    // Expected output taken from another case of a different shape: must FAIL, exit 1.
    fs::copy_file("/usr/share/libonnx-testdata/data/node/test_conv_with_strides_no_padding/test_data_set_0/output_0.pb",
                  tmp.file("output_0.pb"));
    auto bad = run_command(tool("cim-run") + " " + kCase + "/model.onnx --test-data " + tmp.path);
    CHECK(bad.status == 1);
    CHECK(bad.output.find("FAIL") != std::string::npos);
}

TEST_CASE("cim-run writes outputs that it can read back") {
    TempDir tmp;
    auto r = run_command(tool("cim-run") + " " + kCase + "/model.onnx --input " + kCase + "/test_data_set_0/input_0.pb --input " +
                         kCase + "/test_data_set_0/input_1.pb --out " + tmp.path);
    REQUIRE(r.status == 0);
    fs::copy_file(kCase + "/test_data_set_0/input_0.pb", tmp.file("input_0.pb"));
    fs::copy_file(kCase + "/test_data_set_0/input_1.pb", tmp.file("input_1.pb"));
    auto again = run_command(tool("cim-run") + " " + kCase + "/model.onnx --test-data " + tmp.path + " --rtol 0 --atol 0");
    CHECK(again.status == 0);
}

TEST_CASE("cim-run reports bad input with exit status 2 and the file name") {
    TempDir tmp;
    std::ofstream(tmp.file("notes.onnx")) << "not a model";
    auto r = run_command(tool("cim-run") + " " + tmp.file("notes.onnx"));
    CHECK(r.status == 2);
    CHECK(r.output.find("notes.onnx") != std::string::npos);

    OnnxBuilder b(13);
    b.input("x", {1, 4});
    b.node("Unique", {"x"}, {"u"}, "dedupe");
    b.node("TopK", {"u"}, {"y"}, "best");
    b.output("y");
    b.save(tmp.file("uns.onnx"));
    auto u = run_command(tool("cim-run") + " " + tmp.file("uns.onnx"));
    CHECK(u.status == 2);
    CHECK(u.output.find("Unique: 'dedupe'") != std::string::npos);
    CHECK(u.output.find("TopK: 'best'") != std::string::npos);
}
