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

namespace {

// Orders one case's input files as the model's inputs: by TensorProto name when every file has
// one (then they must be the model's), else by position. Returns, per model input, its file's index.
std::vector<size_t> bind_case(const std::string& where, const std::vector<std::string>& file_names, const std::vector<std::string>& wanted) {
    const size_t n = wanted.empty() ? 1 : wanted.size();
    std::string list;
    for (const std::string& w : wanted) list += (list.empty() ? "'" : ", '") + w + "'";
    if (file_names.size() != n)
        throw InputError(where + ": holds " + std::to_string(file_names.size()) + " input file(s) (input_0.pb, ...), the model takes " +
                         std::to_string(n) + (wanted.size() > 1 ? " (" + list + ")" : "") + "; give one input_K.pb per model input");
    std::vector<size_t> order(n);
    for (size_t k = 0; k < n; ++k) order[k] = k;
    if (wanted.size() < 2) return order;
    const bool named = std::none_of(file_names.begin(), file_names.end(), [](const std::string& s) { return s.empty(); });
    if (!named) return order;
    for (size_t k = 0; k < n; ++k) {
        const auto it = std::find(file_names.begin(), file_names.end(), wanted[k]);
        if (it == file_names.end()) {
            std::string have;
            for (const std::string& f : file_names) have += (have.empty() ? "'" : ", '") + f + "'";
            throw InputError(where + ": its input files are named " + have + ", the model's inputs " + list +
                             "; name each TensorProto after the input it feeds (or leave the names empty to bind by position)");
        }
        order[k] = size_t(it - file_names.begin());
    }
    return order;
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
    const size_t n_inputs = std::max<size_t>(1, options.input_names.size());
    std::vector<std::vector<Tensor>> inputs(n_inputs);  // [input][case]
    std::vector<Shape> sample(n_inputs);
    int64_t total = 0;
    for (const std::string& c : cases) {
        std::vector<std::string> input_files{c};
        std::string output_file;
        if (fs::is_directory(c)) {
            input_files = test_case_files(c, "input");
            if (input_files.empty()) throw InputError(c + ": no input_0.pb file (an ONNX test-case folder holds input_N.pb and output_N.pb)");
            const auto outs = test_case_files(c, "output");
            if (!outs.empty()) output_file = outs[0];
        }
        std::vector<Tensor> tensors;
        std::vector<std::string> names;
        for (const std::string& f : input_files) {
            names.emplace_back();
            tensors.push_back(load_tensor_pb(f, &names.back()));
        }
        const std::vector<size_t> order = bind_case(c, names, options.input_names);
        int64_t items = -1;
        for (size_t k = 0; k < n_inputs; ++k) {
            Tensor& t = tensors[order[k]];
            const std::string& file = input_files[order[k]];
            if (t.rank() < 1) throw InputError(file + ": a scalar; expected samples along the first axis");
            check_finite_data(t, file);
            if (!t.floating()) {  // integer samples feed a float input as their values
                Tensor f(ElemType::Float, t.shape);
                f.f = t.to_floats();
                t = std::move(f);
            }
            const Shape s(t.shape.begin() + 1, t.shape.end());
            if (inputs[k].empty()) sample[k] = s;
            if (s != sample[k])
                throw InputError(file + ": samples of shape " + shape_str(s) + ", but the first case's are " + shape_str(sample[k]) +
                                 "; every case must hold samples of one shape");
            if (items >= 0 && t.shape[0] != items)
                throw InputError(file + ": holds " + std::to_string(t.shape[0]) + " samples, " + input_files[order[0]] + " holds " +
                                 std::to_string(items) + "; every input of a case needs one entry per sample");
            items = t.shape[0];
            if (d.input_names.size() < n_inputs) d.input_names.push_back(names[order[k]]);
            inputs[k].push_back(std::move(t));
        }
        total += items;
        if (!output_file.empty()) d.reference_outputs.push_back(load_tensor_pb(output_file));
    }
    if (!d.reference_outputs.empty() && d.reference_outputs.size() != cases.size())
        throw InputError(path + ": some test cases have an output_0.pb and some do not; give all or none");
    // Samples [skip, skip + limit) of the concatenation.
    const int64_t skip = std::min(options.skip, total);
    const int64_t count = options.limit < 0 ? total - skip : std::min(options.limit, total - skip);
    std::vector<Tensor> joined;
    for (size_t k = 0; k < n_inputs; ++k) {
        const int64_t per = shape_numel(sample[k]);
        Shape shape = sample[k];
        shape.insert(shape.begin(), count);
        Tensor all(ElemType::Float, shape);
        int64_t at = 0, written = 0;
        for (const Tensor& t : inputs[k]) {
            const int64_t n = t.shape[0];
            const int64_t from = std::max<int64_t>(skip - at, 0), to = std::min<int64_t>(n, skip + count - at);
            if (to > from) {
                std::memcpy(all.f.data() + written * per, t.f.data() + from * per, size_t((to - from) * per) * sizeof(float));
                written += to - from;
            }
            at += n;
        }
        joined.push_back(std::move(all));
    }
    d.inputs = SampleSet(std::move(joined));
    if (!d.reference_outputs.empty() && (skip > 0 || count < total)) d.reference_outputs.clear();  // they no longer line up
    if (!options.labels_path.empty()) d.labels = read_label_file(options.labels_path, skip, count);
    return d;
}

}  // namespace cim::data
