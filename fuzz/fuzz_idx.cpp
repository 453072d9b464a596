// libFuzzer target: the Fashion-MNIST IDX reader (read_idx_gz). The input is read as the
// file itself (gzip header check, zlib inflate and CRC, then the IDX array) and, gzip-compressed
// by the harness, as the IDX array inside a valid gzip stream; each both as a label file
// (1 dimension) and an image file (3 dimensions).
#include "fuzz_util.h"

#include <cim/models/fashion_mnist.h>

#include <zlib.h>

#include <cstdlib>

namespace {

std::string gzip_file(const char* name, const uint8_t* data, size_t size) {
    const std::string path = cim::fuzz::ScratchDir::get().file(name);
    cim::fuzz::remove_old(path);
    gzFile f = gzopen(path.c_str(), "wb1");
    bool ok = f != nullptr && (size == 0 || gzwrite(f, data, unsigned(size)) == int(size));
    if (f != nullptr) ok = gzclose(f) == Z_OK && ok;
    if (!ok) {
        std::fprintf(stderr, "fuzz harness: cannot write %s\n", path.c_str());
        std::abort();
    }
    return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string files[] = {cim::fuzz::input_file("input.idx.gz", data, size), gzip_file("gzipped.idx.gz", data, size)};
    for (const std::string& path : files)
        for (const int ndim : {1, 3})
            cim::fuzz::expect_input_error([&] {
                const cim::models::IdxArray a = cim::models::read_idx_gz(path, ndim);
                (void)a.data.size();
            });
    return 0;
}
