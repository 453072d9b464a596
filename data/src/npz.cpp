// NumPy .npz: a zip archive (stored by numpy.savez, deflated by numpy.savez_compressed) of .npy
// members; the inputs are `x` and the labels, when present, `y`. Read with Debian's libzip.
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
    const std::vector<uint8_t> x = read_member(z.get(), path, "x.npy");
    if (x.empty()) {
        std::string names;
        const zip_int64_t n = zip_get_num_entries(z.get(), 0);
        for (zip_int64_t i = 0; i < n && i < 8; ++i) names += std::string(i ? ", " : "") + zip_get_name(z.get(), zip_uint64_t(i), 0);
        throw InputError(path + ": has no array 'x' (it holds: " + (names.empty() ? "nothing" : names) +
                         "); write it with numpy.savez(path, x=inputs, y=labels)");
    }
    Dataset d;
    d.source = path;
    d.format = "npz";
    d.inputs = npy_samples(parse_npy(x.data(), x.size(), path + ":x"), options.skip, options.limit, path + ":x");
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
