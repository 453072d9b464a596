// ONNX TensorProto folders: the layout of ONNX's test cases. A folder holding input_0.pb (samples
// along the first axis) and optionally output_0.pb (reference outputs), or a folder of
// test_data_set_*/ folders, each one such case, concatenated in numeric order.
#include "npy.h"

#include <cim/error.h>
#include <cim/ir/finite.h>
#include <cim/ir/onnx_import.h>
#include <cim/memory_budget.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <regex>

namespace cim::data {

namespace fs = std::filesystem;

namespace {

// The test_data_set_N folders of `dir`, in N order.
std::vector<std::string> case_folders(const std::string& dir) {
    std::vector<std::pair<long long, std::string>> found;
    const std::regex re("test_data_set_([0-9]{1,9})");
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        std::smatch m;
        const std::string name = e.path().filename().string();
        if (e.is_directory(ec) && std::regex_match(name, m, re)) found.emplace_back(std::stoll(m[1]), e.path().string());
    }
    std::sort(found.begin(), found.end());
    std::vector<std::string> out;
    for (auto& f : found) out.push_back(f.second);
    return out;
}

}  // namespace

Dataset read_onnx_pb_folder(const std::string& path, const LoadOptions& options) {
    std::vector<std::string> cases;
    if (fs::is_regular_file(path)) {
        cases.push_back(path);  // one input_N.pb file
    } else {
        cases = case_folders(path);
        if (cases.empty()) cases.push_back(path);
    }
    Dataset d;
    d.source = path;
    d.format = "onnx-pb";
    std::vector<Tensor> inputs;
    int64_t total = 0, per = -1;
    Shape sample;
    for (const std::string& c : cases) {
        std::string input_file = c, output_file;
        if (fs::is_directory(c)) {
            const auto ins = test_case_files(c, "input");
            if (ins.empty()) throw InputError(c + ": no input_0.pb file (an ONNX test-case folder holds input_N.pb and output_N.pb)");
            if (ins.size() > 1)
                throw InputError(c + ": holds " + std::to_string(ins.size()) +
                                 " inputs (input_0.pb, input_1.pb, ...); the dataset layer feeds single-input models");
            input_file = ins[0];
            const auto outs = test_case_files(c, "output");
            if (!outs.empty()) output_file = outs[0];
        }
        Tensor t = load_tensor_pb(input_file);
        if (t.rank() < 1) throw InputError(input_file + ": a scalar; expected samples along the first axis");
        check_finite_data(t, input_file);
        const Shape s(t.shape.begin() + 1, t.shape.end());
        if (per < 0) sample = s, per = shape_numel(s);
        if (s != sample)
            throw InputError(input_file + ": samples of shape " + shape_str(s) + ", but the first case's are " + shape_str(sample) +
                             "; every case must hold samples of one shape");
        total += t.shape[0];
        if (!output_file.empty()) d.reference_outputs.push_back(load_tensor_pb(output_file));
        inputs.push_back(std::move(t));
    }
    if (!d.reference_outputs.empty() && d.reference_outputs.size() != inputs.size())
        throw InputError(path + ": some test cases have an output_0.pb and some do not; give all or none");
    // Samples [skip, skip + limit) of the concatenation.
    const int64_t skip = std::min(options.skip, total);
    const int64_t count = options.limit < 0 ? total - skip : std::min(options.limit, total - skip);
    Shape shape = sample;
    shape.insert(shape.begin(), count);
    d.inputs = Tensor(ElemType::Float, shape);
    int64_t at = 0, written = 0;
    for (const Tensor& t : inputs) {
        const int64_t n = t.shape[0];
        const int64_t from = std::max<int64_t>(skip - at, 0), to = std::min<int64_t>(n, skip + count - at);
        if (to > from) {
            std::memcpy(d.inputs.f.data() + written * per, t.f.data() + from * per, size_t((to - from) * per) * sizeof(float));
            written += to - from;
        }
        at += n;
    }
    if (!d.reference_outputs.empty() && (skip > 0 || count < total)) d.reference_outputs.clear();  // they no longer line up
    if (!options.labels_path.empty()) d.labels = read_label_file(options.labels_path, skip, count);
    return d;
}

}  // namespace cim::data
