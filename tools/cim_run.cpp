// cim-run: import an ONNX model and run it on the float reference executor.
//
//   cim-run MODEL.onnx --test-data DIR      compare with ONNX test-case outputs (exit 0 PASS / 1 FAIL)
//   cim-run MODEL.onnx [--input X.pb ...]   run on given (or seeded random) inputs, write outputs as .pb
#include "cli_common.h"

#include <cim/ir/batch.h>
#include <cim/ir/executor.h>
#include <cim/ir/finite.h>
#include <cim/ir/onnx_import.h>
#include <cim/memory_budget.h>
#include <cim/output_file.h>

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <random>

namespace fs = std::filesystem;
using namespace cim;

namespace {

Tensor random_input(const Value& v, int64_t batch, std::mt19937_64& rng) {
    Shape s = v.shape;
    if (!v.rank_known) throw InputError("input '" + v.name + "' has no declared shape; pass it with --input FILE.pb");
    for (size_t d = 0; d < s.size(); ++d)
        if (s[d] < 0) {
            if (d != 0) throw InputError("input '" + v.name + "' has an unknown non-batch dimension " + shape_str(v.shape) + "; pass it with --input FILE.pb");
            s[d] = batch;
        }
    Tensor t(v.type, s);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::uniform_int_distribution<int> small(0, 9);
    if (t.floating())
        for (float& x : t.f) x = normal(rng);
    else
        for (int64_t& x : t.i) x = small(rng);
    return t;
}

}  // namespace

int main(int argc, char** argv) {
    return cli::guarded_main("cim-run", [&]() -> int {
        CLI::App app{"cim-run: import an ONNX model into cimforge's graph IR and run it on the float reference executor.\n"
                     "With --test-data, compares with an ONNX test case's expected outputs (exit 0 PASS, 1 FAIL)."};
        std::string model_path, test_data, out_dir, dump;
        std::vector<std::string> input_files;
        int64_t batch = 1;
        uint64_t seed = 1;
        double rtol = 1e-3, atol = 1e-7;
        app.add_option("model", model_path, "ONNX model file")->required();
        app.add_option("--test-data", test_data, "ONNX test-case folder with input_*.pb and output_*.pb");
        app.add_option("--input", input_files, "input TensorProto files (.pb), one per graph input, in order");
        app.add_option("--batch", batch, "batch size for random inputs when the model's batch is dynamic")->check(CLI::PositiveNumber);
        app.add_option("--seed", seed, "seed of the random inputs");
        app.add_option("--out", out_dir, "folder to write output_K.pb files (default: none written)");
        app.add_option("--rtol", rtol, "relative tolerance for --test-data (ONNX backend default 1e-3)");
        app.add_option("--atol", atol, "absolute tolerance for --test-data (ONNX backend default 1e-7)");
        app.add_option("--dump-after", dump, "print the graph IR after a stage")->check(CLI::IsMember({"import"}));
        cli::add_max_memory_option(app);
        if (auto status = cli::parse_args(app, argc, argv)) return *status;

        Graph graph = import_onnx(model_path);
        if (const auto bad = non_finite_weights(graph); !bad.empty())
            fmt::print(stderr, "cim-run: warning: {}: weights hold non-finite values (the float executor runs them; cim-map, cim-quant "
                               "and cim-sim refuse them):{}\n", model_path, describe(bad));
        if (dump == "import") fmt::print("{}", graph.dump());

        std::vector<Tensor> inputs;
        std::vector<std::string> expected_files;
        if (!test_data.empty()) {
            if (!fs::is_directory(test_data)) throw InputError(test_data + ": not a folder (expected an ONNX test_data_set_N folder)");
            for (const auto& f : test_case_files(test_data, "input")) inputs.push_back(load_tensor_pb(f));
            expected_files = test_case_files(test_data, "output");
            if (expected_files.empty()) throw InputError(test_data + ": no output_*.pb files to compare with");
        } else if (!input_files.empty()) {
            for (const auto& f : input_files) inputs.push_back(load_tensor_pb(f));
        } else {
            std::mt19937_64 rng(seed);
            for (int id : graph.inputs) inputs.push_back(random_input(graph.value(id), batch, rng));
        }

        // A batch-1 export given several items: batched when the graph allows it, else one item at a time.
        bool many = false;
        for (size_t k = 0; k < inputs.size() && k < graph.inputs.size(); ++k) {
            const Value& v = graph.value(graph.inputs[k]);
            many = many || (v.rank_known && !v.shape.empty() && v.shape[0] == 1 && inputs[k].rank() > 0 && inputs[k].shape[0] > 1);
        }
        if (many) {
            BatchRewrite b = prepare_for_many_items(graph, model_path);
            if (!b.batched) fmt::print(stderr, "cim-run: note: {}\n", b.note);
            graph = std::move(b.graph);
        }
        const Executor exec(graph);
        auto t0 = std::chrono::steady_clock::now();
        std::vector<Tensor> outputs = many && batch_pinned(graph) ? run_per_sample(exec, inputs) : exec.run(inputs);
        double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

        if (!out_dir.empty()) {
            create_output_folder(out_dir, "--out folder");
            for (size_t k = 0; k < outputs.size(); ++k)
                save_tensor_pb(outputs[k], graph.value(graph.outputs[k]).name, (fs::path(out_dir) / fmt::format("output_{}.pb", k)).string());
        }

        if (!test_data.empty()) {
            if (expected_files.size() != outputs.size())
                throw InputError(test_data + ": has " + std::to_string(expected_files.size()) + " expected outputs, the model produces " + std::to_string(outputs.size()));
            bool all = true;
            for (size_t k = 0; k < outputs.size(); ++k) {
                Tensor ref = load_tensor_pb(expected_files[k]);
                OutputComparison c = compare_output(outputs[k], ref, rtol, atol);
                all = all && c.pass;
                fmt::print("output {} '{}' {}: max abs error {:.3g}, max rel error {:.3g}{}{}\n", k,
                           graph.value(graph.outputs[k]).name, shape_str(outputs[k].shape), c.max_abs, c.max_rel,
                           c.problem.empty() ? "" : ", ", c.problem);
            }
            fmt::print("{} (rtol {:g}, atol {:g}; {:.3f} s)\n", all ? "PASS" : "FAIL", rtol, atol, seconds);
            return all ? cli::kExitOk : cli::kExitFail;
        }
        for (size_t k = 0; k < outputs.size(); ++k) {
            const Tensor& t = outputs[k];
            fmt::print("output {} '{}' {} {}:", k, graph.value(graph.outputs[k]).name, elem_type_name(t.type), shape_str(t.shape));
            for (int64_t j = 0; j < std::min<int64_t>(t.numel(), 8); ++j) fmt::print(" {:.5g}", t.get(j));
            fmt::print("{}\n", t.numel() > 8 ? " ..." : "");
        }
        fmt::print("ran {} nodes in {:.3f} s\n", graph.nodes.size(), seconds);
        return cli::kExitOk;
    });
}
