// Conformance against ONNX's own backend test cases (Debian's libonnx-testdata):
// every case whose ops are all supported must pass with the backend runner's
// tolerances (rtol 1e-3, atol 1e-7). Writes docs/onnx-support.md.
#include <doctest/doctest.h>

#include <cim/ir/executor.h>
#include <cim/ir/onnx_import.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

namespace fs = std::filesystem;
using namespace cim;

namespace {

const char* kTestData = "/usr/share/libonnx-testdata/data";

std::vector<std::string> numbered(const fs::path& dir, const std::string& prefix) {
    std::vector<std::pair<int, std::string>> found;
    std::regex re(prefix + "_([0-9]+)\\.pb");
    for (const auto& e : fs::directory_iterator(dir)) {
        std::smatch m;
        std::string name = e.path().filename().string();
        if (std::regex_match(name, m, re)) found.emplace_back(std::stoi(m[1]), e.path().string());
    }
    std::sort(found.begin(), found.end());
    std::vector<std::string> r;
    for (auto& f : found) r.push_back(f.second);
    return r;
}

bool close_enough(const Tensor& out, const Tensor& ref, std::string& why) {
    if (out.shape != ref.shape) {
        why = "shape " + shape_str(out.shape) + " vs expected " + shape_str(ref.shape);
        return false;
    }
    for (int64_t k = 0; k < ref.numel(); ++k) {
        double a = out.get(k), b = ref.get(k);
        if (std::isnan(a) && std::isnan(b)) continue;
        if (std::isinf(a) && std::isinf(b) && (a > 0) == (b > 0)) continue;
        if (!(std::fabs(a - b) <= 1e-7 + 1e-3 * std::fabs(b))) {
            why = "element " + std::to_string(k) + ": " + std::to_string(a) + " vs expected " + std::to_string(b);
            return false;
        }
    }
    return true;
}

}  // namespace

TEST_CASE("ONNX backend test cases: every supported case passes") {
    if (!fs::exists(kTestData)) {
        FAIL("libonnx-testdata is not installed (" << kTestData << "); run scripts/setup.sh");
        return;
    }
    struct OpStats {
        int cases = 0;
        int min_opset = 99, max_opset = 0;
    };
    std::map<std::string, OpStats> supported;
    std::map<std::string, std::set<std::string>> unsupported;  // op (reason) -> cases
    std::vector<std::string> failures;
    int passed = 0, skipped = 0, total = 0;
    for (const char* suite : {"node", "pytorch-converted", "pytorch-operator", "simple"}) {
        fs::path root = fs::path(kTestData) / suite;
        std::vector<fs::path> cases;
        for (const auto& e : fs::directory_iterator(root)) cases.push_back(e.path());
        std::sort(cases.begin(), cases.end());
        for (const fs::path& dir : cases) {
            const std::string name = std::string(suite) + "/" + dir.filename().string();
            ++total;
            Graph g;
            try {
                g = import_onnx((dir / "model.onnx").string());
            } catch (const UnsupportedOpsError& e) {
                ++skipped;
                for (const auto& entry : e.entries())
                    unsupported[entry.op_type + (entry.reason.empty() ? "" : " (" + entry.reason + ")")].insert(name);
                continue;
            } catch (const InputError& e) {
                failures.push_back(name + ": import: " + e.what());
                continue;
            }
            bool ok = true;
            std::string why;
            try {
                Executor ex(g);
                for (const auto& ds : fs::directory_iterator(dir)) {
                    if (!ds.is_directory() || ds.path().filename().string().rfind("test_data_set_", 0) != 0) continue;
                    std::vector<Tensor> inputs;
                    for (const auto& f : numbered(ds.path(), "input")) inputs.push_back(load_tensor_pb(f));
                    auto outs = ex.run(inputs);
                    auto refs = numbered(ds.path(), "output");
                    if (refs.size() != outs.size()) {
                        ok = false;
                        why = "output count";
                    }
                    for (size_t k = 0; ok && k < refs.size(); ++k) ok = close_enough(outs[k], load_tensor_pb(refs[k]), why);
                    if (!ok) break;
                }
            } catch (const InputError& e) {
                ok = false;
                why = e.what();
            }
            if (!ok) {
                failures.push_back(name + ": " + why);
                continue;
            }
            ++passed;
            std::set<std::string> ops;
            for (const Node& n : g.nodes) ops.insert(std::string(op_name(n.op)));
            for (const auto& op : ops) {
                auto& s = supported[op];
                ++s.cases;
                s.min_opset = std::min(s.min_opset, g.opset);
                s.max_opset = std::max(s.max_opset, g.opset);
            }
        }
    }
    INFO("passed " << passed << ", unsupported " << skipped << ", failed " << failures.size() << " of " << total);
    for (const auto& f : failures) MESSAGE("FAILED " << f);
    CHECK(failures.empty());
    CHECK(passed > 400);

    // docs/onnx-support.md, regenerated on every run.
    std::ostringstream md;
    md << "# ONNX operator support\n\n"
       << "Generated by `tests/ir/test_conformance.cpp` from Debian's `libonnx-testdata` (ONNX's own backend test cases "
          "in `node/`, `pytorch-converted/`, `pytorch-operator/`, `simple/`). A case runs when the importer supports every "
          "op in it; it must then match the expected outputs with the ONNX backend runner's tolerances (rtol 1e-3, atol 1e-7).\n\n"
       << "**" << total << " cases: " << passed << " pass, " << failures.size() << " fail, " << skipped
       << " use an unsupported op or configuration.**\n\n"
       << "Opsets 11 to " << kMaxOpset << " are read; older models load where the op's semantics did not change.\n\n"
       << "## Supported ops\n\n| op | opsets implemented | cases passed | opsets seen in passing cases |\n|---|---|---|---|\n";
    for (int k = 0; k < int(OpKind::Count); ++k) {
        std::string op(op_name(OpKind(k)));
        auto it = supported.find(op);
        md << "| " << op << " | " << op_min_opset(OpKind(k)) << "–" << kMaxOpset << " | "
           << (it == supported.end() ? 0 : it->second.cases) << " | ";
        if (it != supported.end()) md << it->second.min_opset << "–" << it->second.max_opset;
        else md << "(folded or removed at import, or no test case)";
        md << " |\n";
    }
    md << "\nConstant, Identity and Dropout are folded or removed at import, so they rarely appear in the executed graph.\n\n"
       << "## Unsupported ops and configurations met in the test data\n\n| op (reason) | cases |\n|---|---|\n";
    std::vector<std::pair<size_t, std::string>> uns;
    for (const auto& [op, cases] : unsupported) uns.emplace_back(cases.size(), op);
    std::sort(uns.begin(), uns.end(), [](auto& a, auto& b) { return a.first != b.first ? a.first > b.first : a.second < b.second; });
    for (const auto& [n, op] : uns) md << "| " << op << " | " << n << " |\n";
    std::ofstream out(std::string(CIM_SOURCE_DIR) + "/docs/onnx-support.md");
    out << md.str();
    MESSAGE("ONNX conformance: " << passed << " pass, " << failures.size() << " fail, " << skipped << " unsupported, of " << total);
}
