// NumPy .npz: a zip archive (stored by numpy.savez, deflated by numpy.savez_compressed) of .npy
// members; the inputs are `x` (or, for a model of several inputs, one array named after each) and
// the labels, when present, `y`. Read with Debian's libzip.
#include "npy.h"

#include <cim/error.h>
#include <cim/memory_budget.h>

#include <zip.h>

#include <memory>

namespace cim::data {

namespace {

struct ZipCloser {
    void operator()(zip_t* z) const { zip_discard(z); }
};
struct ZipFileCloser {
    void operator()(zip_file_t* f) const { zip_fclose(f); }
};

// The bytes of member `name` (e.g. "x.npy"), or an empty vector when the archive has no such member.
std::vector<uint8_t> read_member(zip_t* z, const std::string& path, const std::string& name) {
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat(z, name.c_str(), 0, &st) != 0) return {};
    if (!(st.valid & ZIP_STAT_SIZE)) throw InputError(path + ": member '" + name + "' has no recorded size");
    const std::string where = path + ":" + name;
    check_memory(st.size > uint64_t(INT64_MAX) ? -1 : int64_t(st.size), where);
    std::unique_ptr<zip_file_t, ZipFileCloser> f(zip_fopen(z, name.c_str(), 0));
    if (!f) throw InputError(where + ": cannot open the member (" + std::string(zip_strerror(z)) + ")");
    // The recorded size is not trusted with an allocation: read in chunks as the data arrives.
    std::vector<uint8_t> out;
    constexpr size_t kChunk = size_t(16) << 20;
    for (;;) {
        const size_t have = out.size();
        out.resize(have + kChunk);
        const zip_int64_t got = zip_fread(f.get(), out.data() + have, kChunk);
        if (got < 0) throw InputError(where + ": corrupt compressed data (" + std::string(zip_file_strerror(f.get())) + ")");
        out.resize(have + size_t(got));
        if (got == 0) break;
        if (out.size() > st.size) break;
    }
    if (out.size() != st.size)
        throw InputError(where + ": the member holds " + std::to_string(out.size()) + " bytes, its header says " + std::to_string(st.size) +
                         " (truncated or corrupt archive)");
    return out;
}

}  // namespace

Dataset read_npz(const std::string& path, const LoadOptions& options) {
    int err = 0;
    std::unique_ptr<zip_t, ZipCloser> z(zip_open(path.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &err));
    if (!z) {
        zip_error_t e;
        zip_error_init_with_code(&e, err);
        const std::string msg = zip_error_strerror(&e);
        zip_error_fini(&e);
        throw InputError(path + ": not a readable .npz archive (" + msg + "); write it with numpy.savez(path, x=inputs, y=labels)");
    }
    auto held = [&] {
        std::string names;
        const zip_int64_t n = zip_get_num_entries(z.get(), 0);
        for (zip_int64_t i = 0; i < n && i < 16; ++i) {
            std::string m = zip_get_name(z.get(), zip_uint64_t(i), 0);
            if (m.size() > 4 && m.compare(m.size() - 4, 4, ".npy") == 0) m.resize(m.size() - 4);
            names += std::string(i ? ", " : "") + m;
        }
        return names.empty() ? std::string("nothing") : names;
    };
    // One input: `x`, or the array named after the model's input. Several: one array per input, by name.
    const std::vector<std::string>& wanted = options.input_names;
    std::vector<std::string> arrays;
    if (wanted.size() > 1) {
        arrays = wanted;
    } else {
        zip_stat_t st;
        arrays = {wanted.size() == 1 && zip_stat(z.get(), "x.npy", 0, &st) != 0 ? wanted[0] : "x"};
    }
    std::vector<std::vector<uint8_t>> bytes;
    std::string missing;
    for (const std::string& a : arrays) {
        bytes.push_back(read_member(z.get(), path, a + ".npy"));
        if (bytes.back().empty()) missing += (missing.empty() ? "'" : ", '") + a + "'";
    }
    if (!missing.empty()) {
        std::string names_list;
        for (const std::string& w : wanted) names_list += (names_list.empty() ? "" : ", ") + w + "=...";
        throw InputError(path + ": has no array " + missing + " (it holds: " + held() + "); write it with " +
                         (wanted.size() > 1 ? "one array per model input, named after it: numpy.savez(path, " + names_list + ", y=labels)"
                                            : "numpy.savez(path, x=inputs, y=labels)"));
    }
    Dataset d;
    d.source = path;
    d.format = "npz";
    std::vector<Tensor> inputs;
    int64_t samples = -1;
    for (size_t k = 0; k < arrays.size(); ++k) {
        const std::string where = path + ":" + arrays[k];
        const NpyArray a = parse_npy(bytes[k].data(), bytes[k].size(), where);
        npy_sample_size(a, where);
        if (k > 0 && a.shape[0] != samples)
            throw InputError(where + ": holds " + std::to_string(a.shape[0]) + " samples, '" + arrays[0] + "' holds " + std::to_string(samples) +
                             "; every input needs one entry per sample");
        samples = a.shape[0];
        inputs.push_back(npy_samples(a, options.skip, options.limit, where));
        bytes[k] = {};
    }
    d.inputs = SampleSet(std::move(inputs));
    d.input_names = arrays;
    const std::vector<uint8_t> y = read_member(z.get(), path, "y.npy");
    if (!options.labels_path.empty()) {
        if (!y.empty()) throw InputError(path + ": holds labels 'y' and --labels names more; use one of them");
        d.labels = read_label_file(options.labels_path, options.skip, d.count());
    } else if (!y.empty()) {
        d.labels = npy_labels(parse_npy(y.data(), y.size(), path + ":y"), options.skip, d.count(), path + ":y");
    }
    return d;
}

}  // namespace cim::data
