// libFuzzer target: an image file of an image folder (PNG through libpng, JPEG through
// libjpeg-turbo, anything else refused by its first bytes) -> decode_image, then a small
// preprocessing (gray and RGB, resize of the shorter side, center crop with padding) of what decodes.
// Run with a memory budget of 512 MiB (libFuzzer's -rss_limit_mb is 2048 in scripts/fuzz.sh), so
// that a header claiming a huge image ends in the budget's InputError rather than an OOM report.
#include "fuzz_util.h"

#include <cim/data/dataset.h>
#include <cim/memory_budget.h>

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    cim::set_max_memory_bytes(int64_t(512) << 20);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string path = cim::fuzz::input_file("image.png", data, size);
    cim::fuzz::expect_input_error([&] {
        const cim::data::Image image = cim::data::decode_image(path);
        if (int64_t(image.width) * image.height > (int64_t(1) << 20)) return;  // resizing it would only be slow
        for (const bool gray : {false, true}) {
            cim::data::Preprocess pp;
            pp.grayscale = gray;
            pp.resize_shorter = 5;
            pp.crop_height = 4, pp.crop_width = 9;
            cim::Shape shape;
            const std::vector<float> x = cim::data::preprocess_image(image, pp, shape);
            if (x.size() != size_t((gray ? 1 : 3) * 4 * 9)) std::abort();
        }
    });
    return 0;
}
