// Image folders without Python: decode_image on good and bad files, load_preprocess on good and
// bad YAML, preprocess_image's pixel rules, and read_image_folder's order, options and errors.
// (test_torchvision.cpp compares the numbers with torchvision itself.)
#include <doctest/doctest.h>

#include <cim/data/dataset.h>
#include <cim/memory_budget.h>

#include <omp.h>
#include <unistd.h>

#include <filesystem>

#include "image_test_util.h"
#include "onnx_builder.h"  // cim::test::TempDir

namespace fs = std::filesystem;
using namespace cim::data;
using cim::test::contains;
using cim::test::input_error;
using cim::test::TempDir;
using cim::Shape;

namespace {

std::string write_yaml(const TempDir& tmp, const std::string& name, const std::string& text) {
    cim::test::write_bytes(tmp.file(name), std::vector<uint8_t>(text.begin(), text.end()));
    return tmp.file(name);
}

// The error for `yaml`, which must name the file and the place "line:column".
std::string yaml_error(const std::string& yaml, const std::string& place) {
    TempDir tmp;
    const std::string path = write_yaml(tmp, "pp.yaml", yaml);
    const std::string msg = input_error([&] { load_preprocess(path); });
    CHECK_MESSAGE(contains(msg, path + ":" + place + ":"), msg);
    return msg;
}

// A solid gray image of 1 channel.
Image solid(int w, int h, int channels, uint8_t v) {
    return Image{h, w, channels, std::vector<uint8_t>(size_t(w) * size_t(h) * size_t(channels), v)};
}

// Restores the memory budget at the end of a test that lowers it.
struct BudgetGuard {
    int64_t saved = cim::max_memory_bytes();
    ~BudgetGuard() { cim::set_max_memory_bytes(saved); }
};

}  // namespace

TEST_CASE("decode_image reads PNG and JPEG by their bytes, not their names") {
    TempDir tmp;
    const auto rgb = cim::test::pattern(7, 5, 3, 1);
    cim::test::write_png(tmp.file("a.png"), 7, 5, 3, rgb);
    const Image a = decode_image(tmp.file("a.png"));
    CHECK(a.width == 7);
    CHECK(a.height == 5);
    CHECK(a.channels == 3);
    CHECK(a.pixels == rgb);  // PNG is lossless

    cim::test::write_bytes(tmp.file("jpeg_named.png"), cim::test::jpeg_bytes(9, 4, 1, cim::test::pattern(9, 4, 1, 2)));
    const Image j = decode_image(tmp.file("jpeg_named.png"));
    CHECK(j.width == 9);
    CHECK(j.height == 4);
    CHECK(j.channels == 1);
}

TEST_CASE("decode_image: every bad file is an InputError naming the file") {
    TempDir tmp;
    const auto png = cim::test::png_bytes(16, 16, 3, cim::test::pattern(16, 16, 3, 3));
    const auto jpeg = cim::test::jpeg_bytes(64, 48, 3, cim::test::pattern(64, 48, 3, 4));
    const auto check = [&](const std::string& name, const std::vector<uint8_t>& bytes, const std::string& expected) {
        const std::string path = tmp.file(name);
        cim::test::write_bytes(path, bytes);
        const std::string msg = input_error([&] { decode_image(path); });
        CHECK_MESSAGE(contains(msg, path + ": "), msg);
        CHECK_MESSAGE(contains(msg, expected), msg);
    };
    SUBCASE("corrupt PNG: a damaged IDAT (zlib's check or the chunk CRC fails)") {
        auto bad = png;
        bad[bad.size() - 12 - 20] ^= 0x55;  // inside IDAT's data, before IDAT's CRC and IEND
        check("crc.png", bad, "corrupt PNG image data");
    }
    SUBCASE("corrupt PNG: damaged compressed data with a valid CRC") {
        auto raw = cim::test::png_bytes(16, 16, 3, std::vector<uint8_t>(16 * 16 * 3, 7));
        // Rebuild IDAT with a broken zlib stream: a header byte pair that is not deflate.
        std::vector<uint8_t> bad(raw.begin(), raw.begin() + 33);  // signature + IHDR
        cim::test::png_chunk(bad, "IDAT", {0x78, 0x9C, 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x01});
        cim::test::png_chunk(bad, "IEND", {});
        check("zlib.png", bad, "corrupt PNG image data");
    }
    SUBCASE("truncated PNG") {
        check("cut.png", std::vector<uint8_t>(png.begin(), png.begin() + long(png.size() / 2)), "truncated");
    }
    SUBCASE("PNG without image data") {
        check("noidat.png", cim::test::png_from_scanlines(4, 4, 1, {}), "PNG");
    }
    SUBCASE("truncated JPEG") {
        check("cut.jpg", std::vector<uint8_t>(jpeg.begin(), jpeg.begin() + long(jpeg.size() / 2)), "Premature end of JPEG file");
    }
    SUBCASE("JPEG cut inside its header") {
        check("header.jpg", std::vector<uint8_t>(jpeg.begin(), jpeg.begin() + 40), "JPEG");
    }
    SUBCASE("corrupt JPEG entropy-coded data") {
        auto bad = jpeg;
        for (size_t i = bad.size() / 2; i < bad.size() / 2 + 64; ++i) bad[i] = 0xFF;  // markers in the middle of a scan
        check("garbled.jpg", bad, "corrupt JPEG image data");
    }
    SUBCASE("a text file named .png") {
        const std::string text = "hello, I am not an image\n";
        check("text.png", std::vector<uint8_t>(text.begin(), text.end()), "not a PNG or JPEG image");
    }
    SUBCASE("an empty file") { check("empty.jpg", {}, "empty"); }
    SUBCASE("a GIF named .png") {
        const std::string gif = "GIF89a\x01\x00\x01\x00";
        check("gif.png", std::vector<uint8_t>(gif.begin(), gif.end()), "is a GIF image");
    }
    SUBCASE("a header claiming more pixels than PIL would open, before any allocation") {
        check("huge.png", cim::test::png_from_scanlines(100000, 100000, 3, std::vector<uint8_t>(64, 0)), "more than the 178956970");
    }
    SUBCASE("a 64-byte JPEG declaring 32773 x 4136 pixels in scans it does not hold (fuzz_image: a 10 s decode)") {
        // SOI, APP0 stub, SOF0 32773 x 4136 x 3 components, an SOS of one component, two bytes, EOI.
        const std::vector<uint8_t> bomb{
            0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x28, 0x28, 0x28, 0x28, 0x28, 0x28, 0x28, 0x3b, 0x00,
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xc0, 0x00, 0x11, 0x08, 0x80, 0x05, 0x10, 0x28, 0x03,
            0x01, 0x22, 0x00, 0xb8, 0x11, 0x01, 0x03, 0x11, 0x00, 0x00, 0x19, 0x01, 0x11, 0x03, 0x01, 0x01,
            0x00, 0x27, 0x51, 0xaa, 0xff, 0xda, 0x00, 0x08, 0x01, 0x01, 0x00, 0x01, 0xf2, 0x8f, 0xff, 0xd9};
        check("bomb.jpg", bomb, "more than a JPEG can hold");
    }
    SUBCASE("a header within the cap but over the memory budget") {
        BudgetGuard guard;
        cim::set_max_memory_bytes(1 << 20);
        check("budget.png", cim::test::png_from_scanlines(2000, 2000, 3, std::vector<uint8_t>(64, 0)), "memory limit");
    }
    SUBCASE("a missing file") {
        const std::string msg = input_error([&] { decode_image(tmp.file("nothing.png")); });
        CHECK_MESSAGE(contains(msg, tmp.file("nothing.png") + ": "), msg);
    }
}

TEST_CASE("load_preprocess reads every key and reports bad ones at file:line:column") {
    TempDir tmp;
    const Preprocess pp = load_preprocess(write_yaml(tmp, "ok.yaml",
                                                     "resize: 256\ncenter_crop: [224, 200]\ngrayscale: false\n"
                                                     "channel_order: BGR\nscale: false\nmean: [1, 2.5, 3]\n"
                                                     "std: [4, 5, 6e-1]\nlayout: nhwc\n"));
    CHECK(pp.resize_shorter == 256);
    CHECK(pp.crop_height == 224);
    CHECK(pp.crop_width == 200);
    CHECK(pp.bgr);
    CHECK_FALSE(pp.scale_to_unit);
    CHECK(pp.mean == std::vector<float>{1.0f, 2.5f, 3.0f});
    CHECK(pp.std == std::vector<float>{4.0f, 5.0f, 0.6f});
    CHECK(pp.nhwc);
    const Preprocess square = load_preprocess(write_yaml(tmp, "sq.yaml", "center_crop: 28\ngrayscale: yes\n"));
    CHECK(square.crop_height == 28);
    CHECK(square.crop_width == 28);
    CHECK(square.grayscale);
    const Preprocess empty = load_preprocess(write_yaml(tmp, "empty.yaml", ""));
    CHECK(empty.resize_shorter == 0);
    CHECK(empty.scale_to_unit);

    CHECK(contains(yaml_error("resize: 24\nresise: 24\n", "2:1"), "unknown key 'resise'"));
    CHECK(contains(yaml_error("resize: -3\n", "1:9"), "resize: expected a whole number"));
    CHECK(contains(yaml_error("resize: [24, 24]\n", "1:9"), "takes one number"));
    CHECK(contains(yaml_error("center_crop: [1, 2, 3]\n", "1:14"), "[height, width]"));
    CHECK(contains(yaml_error("grayscale: maybe\n", "1:12"), "expected true or false"));
    CHECK(contains(yaml_error("channel_order: rbg\n", "1:16"), "expected rgb or bgr"));
    CHECK(contains(yaml_error("layout: chw\n", "1:9"), "expected nchw or nhwc"));
    CHECK(contains(yaml_error("mean: [0.5, 0.5]\nstd: [1, 1]\n", "1:7"), "2 values for 3 channels"));
    CHECK(contains(yaml_error("mean: [0.5]\nstd: [1, 0]\n", "2:10"), "divide by zero"));
    CHECK(contains(yaml_error("mean: [0.5, x, 1]\nstd: [1]\n", "1:13"), "expected a finite number"));
    CHECK(contains(yaml_error("mean: [0.5]\n", "1:1"), "add std"));
    CHECK(contains(yaml_error("grayscale: true\nchannel_order: bgr\n", "2:16"), "bgr needs three channels"));
    CHECK(contains(yaml_error("resize: 1\nresize: 2\n", "2:1"), "given twice"));
    CHECK(contains(yaml_error("- resize\n", "1:1"), "expected a mapping"));
    CHECK(contains(yaml_error("resize: [1,\n", "2:1"), "not valid YAML"));
    // Several problems: all of them, in file order.
    const std::string two = yaml_error("scale: 2\nfoo: 1\n", "1:8");
    CHECK(contains(two, "foo"));
    const std::string missing = input_error([&] { load_preprocess(tmp.file("none.yaml")); });
    CHECK_MESSAGE(contains(missing, tmp.file("none.yaml") + ": cannot open"), missing);
}

TEST_CASE("preprocess_image: PIL's gray conversion, gray to RGB, crop padding, normalize and layout") {
    Shape shape;
    // PIL convert("L"): (R*19595 + G*38470 + B*7471 + 0x8000) >> 16
    const Image rgb{1, 3, 3, {255, 0, 0, 0, 255, 0, 10, 20, 200}};
    Preprocess gray;
    gray.grayscale = true;
    gray.scale_to_unit = false;
    CHECK(preprocess_image(rgb, gray, shape) == std::vector<float>{76, 150, 38});
    CHECK(shape == Shape{1, 1, 3});
    // A gray image read as RGB repeats its channel; NCHW by default.
    const Image g{1, 2, 1, {3, 200}};
    Preprocess raw;
    raw.scale_to_unit = false;
    CHECK(preprocess_image(g, raw, shape) == std::vector<float>{3, 200, 3, 200, 3, 200});
    CHECK(shape == Shape{3, 1, 2});
    raw.nhwc = true;
    CHECK(preprocess_image(g, raw, shape) == std::vector<float>{3, 3, 3, 200, 200, 200});
    CHECK(shape == Shape{1, 2, 3});
    // BGR, ToTensor, Normalize (float32 arithmetic, mean/std per output channel).
    Preprocess norm;
    norm.bgr = true;
    norm.mean = {0.5f, 0.25f, 0.0f};
    norm.std = {0.5f, 2.0f, 4.0f};
    const Image px{1, 1, 3, {255, 51, 0}};
    CHECK(preprocess_image(px, norm, shape) ==
          std::vector<float>{(0.0f / 255.0f - 0.5f) / 0.5f, (51.0f / 255.0f - 0.25f) / 2.0f, (255.0f / 255.0f - 0.0f) / 4.0f});
    // CenterCrop larger than the image: torchvision pads left/top with (crop - size) // 2 zeros
    // (here 1 column left, 2 right, 0 rows above, 1 below).
    Preprocess crop;
    crop.scale_to_unit = false;
    crop.grayscale = true;
    crop.crop_height = 2, crop.crop_width = 4;
    const Image one{1, 1, 1, {9}};
    CHECK(preprocess_image(one, crop, shape) == std::vector<float>{0, 9, 0, 0, 0, 0, 0, 0});
    // ... and crops at int(round((size - crop) / 2.0)), halves to even: 3 -> 1.5 -> 2.
    const Image row{1, 5, 1, {1, 2, 3, 4, 5}};
    crop.crop_height = 1, crop.crop_width = 2;
    CHECK(preprocess_image(row, crop, shape) == std::vector<float>{3, 4});
    // Resizing a solid image keeps it solid; the shorter side becomes the size.
    Preprocess resize;
    resize.resize_shorter = 4;
    resize.scale_to_unit = false;
    const std::vector<float> r = preprocess_image(solid(10, 5, 3, 77), resize, shape);
    CHECK(shape == Shape{3, 4, 8});
    CHECK(std::all_of(r.begin(), r.end(), [](float v) { return v == 77.0f; }));
    // Bad settings from the library API are InputErrors too.
    Preprocess bad;
    bad.mean = {0.5f};
    CHECK(contains(input_error([&] { preprocess_image(one, bad, shape); }), "mean and std go together"));
}

namespace {

// ROOT with classes "b", "A", "a" (sorted: A, a, b); b's images in b/, b/deep, b/deep-er and
// b/deep/inner. Each image is 3 x 2 gray of one value: its expected position (0-based) * 10.
std::vector<std::string> make_ordered_folder(const std::string& root) {
    // In ImageFolder order:
    const std::vector<std::string> order = {"A/z.png",        "a/B.PNG",        "a/a.jpg.png",    "b/1.png",
                                            "b/deep/0.png",   "b/deep-er/x.png", "b/deep/inner/y.png"};
    for (size_t i = 0; i < order.size(); ++i)
        cim::test::write_png(root + "/" + order[i], 3, 2, 1, std::vector<uint8_t>(6, uint8_t(i * 10)));
    cim::test::write_bytes(root + "/b/readme.txt", {'h', 'i'});  // not an image: left out
    cim::test::write_bytes(root + "/loose.png", {'x'});          // not in a class folder: left out
    return order;
}

}  // namespace

TEST_CASE("read_image_folder: ImageFolder's classes, order and labels; skip and limit") {
    TempDir tmp;
    const std::string root = tmp.file("set");
    const auto order = make_ordered_folder(root);
    const Dataset ds = read_image_folder(root, {});
    CHECK(ds.format == "image-folder");
    CHECK(ds.class_names == std::vector<std::string>{"A", "a", "b"});
    CHECK(ds.labels == std::vector<int>{0, 1, 1, 2, 2, 2, 2});
    REQUIRE(ds.inputs.tensor().shape == Shape{7, 3, 2, 3});
    for (int64_t i = 0; i < 7; ++i) CHECK_MESSAGE(ds.inputs.tensor().f[size_t(i * 18)] == float(i * 10) / 255.0f, order[size_t(i)]);

    LoadOptions o;
    o.skip = 2;
    o.limit = 3;
    const Dataset part = read_image_folder(root, o);
    CHECK(part.inputs.tensor().shape == Shape{3, 3, 2, 3});
    CHECK(part.labels == std::vector<int>{1, 2, 2});
    CHECK(part.inputs.tensor().f[0] == 20.0f / 255.0f);
    CHECK(part.class_names.size() == 3);
    o.skip = 7;
    CHECK(contains(input_error([&] { read_image_folder(root, o); }), "leaves none of the 7"));
}

TEST_CASE("read_image_folder: the result does not depend on the number of threads") {
    TempDir tmp;
    const std::string root = tmp.file("set");
    for (int i = 0; i < 24; ++i) {
        const int w = 20 + i * 3, h = 41 - i;
        const std::string name = root + "/c" + std::to_string(i % 3) + "/" + std::to_string(i);
        if (i % 2) cim::test::write_png(name + ".png", w, h, 3, cim::test::pattern(w, h, 3, unsigned(i)));
        else cim::test::write_bytes(name + ".jpg", cim::test::jpeg_bytes(w, h, 3, cim::test::pattern(w, h, 3, unsigned(i))));
    }
    LoadOptions o;
    o.preprocess_path = write_yaml(tmp, "pp.yaml", "resize: 19\ncenter_crop: 17\nmean: [0.4, 0.5, 0.6]\nstd: [0.2, 0.3, 0.4]\n");
    const int threads = omp_get_max_threads();
    omp_set_num_threads(1);
    const Dataset one = read_image_folder(root, o);
    omp_set_num_threads(std::max(2, threads));
    const Dataset many = read_image_folder(root, o);
    omp_set_num_threads(threads);
    CHECK(one.inputs.tensor().shape == Shape{24, 3, 17, 17});
    CHECK(one.inputs.tensor().f == many.inputs.tensor().f);
    CHECK(one.labels == many.labels);
}

TEST_CASE("read_image_folder: bad folders are InputErrors naming the place") {
    TempDir tmp;
    const std::string root = tmp.file("set");
    const auto error = [&](const LoadOptions& o = {}) { return input_error([&] { read_image_folder(root, o); }); };
    SUBCASE("missing") { CHECK(contains(error(), root + ": no such folder")); }
    SUBCASE("a file, not a folder") {
        cim::test::write_bytes(root, {1});
        CHECK(contains(error(), root + ": an image folder must be a folder"));
    }
    SUBCASE("no class folders") {
        fs::create_directories(root);
        cim::test::write_png(root + "/loose.png", 2, 2, 1, std::vector<uint8_t>(4, 0));
        CHECK(contains(error(), root + ": no class folders"));
    }
    SUBCASE("a class folder without images") {
        cim::test::write_png(root + "/cat/1.png", 2, 2, 1, std::vector<uint8_t>(4, 0));
        fs::create_directories(root + "/dog");
        cim::test::write_bytes(root + "/dog/notes.txt", {'x'});
        const std::string msg = error();
        CHECK_MESSAGE(contains(msg, root + ": no images"), msg);
        CHECK_MESSAGE(contains(msg, "class folder dog"), msg);
    }
    SUBCASE("images of different sizes without resize and crop") {
        cim::test::write_png(root + "/cat/1.png", 4, 4, 3, std::vector<uint8_t>(48, 0));
        cim::test::write_png(root + "/cat/2.png", 5, 4, 3, std::vector<uint8_t>(60, 0));
        const std::string msg = error();
        CHECK_MESSAGE(contains(msg, root + "/cat/2.png: gives a sample of shape [3,4,5]"), msg);
        CHECK_MESSAGE(contains(msg, "--preprocess"), msg);
        LoadOptions o;
        o.preprocess_path = write_yaml(tmp, "resize.yaml", "resize: 8\n");
        const std::string with_resize = error(o);
        CHECK_MESSAGE(contains(with_resize, "add center_crop to " + o.preprocess_path), with_resize);
    }
    SUBCASE("a non-image file with an image extension, after good ones") {
        for (int i = 0; i < 9; ++i) cim::test::write_png(root + "/cat/" + std::to_string(i) + ".png", 2, 2, 1, std::vector<uint8_t>(4, 0));
        cim::test::write_bytes(root + "/cat/5b.png", {'<', 'h', 't', 'm', 'l', '>'});
        cim::test::write_bytes(root + "/cat/7b.jpeg", {'<', 'h', 't', 'm', 'l', '>'});
        const std::string msg = error();  // the first bad file in folder order, whatever the threads
        CHECK_MESSAGE(contains(msg, root + "/cat/5b.png: not a PNG or JPEG image"), msg);
    }
    SUBCASE("an image format torchvision reads and we do not") {
        cim::test::write_png(root + "/cat/1.png", 2, 2, 1, std::vector<uint8_t>(4, 0));
        cim::test::write_bytes(root + "/cat/2.BMP", {'B', 'M'});
        CHECK(contains(error(), root + "/cat/2.BMP: only PNG and JPEG images are read"));
    }
    SUBCASE("a symbolic link loop") {
        cim::test::write_png(root + "/cat/1.png", 2, 2, 1, std::vector<uint8_t>(4, 0));
        fs::create_directory_symlink("..", root + "/cat/up");
        const std::string msg = error();
        CHECK_MESSAGE(contains(msg, root + "/cat/up: a symbolic link loop"), msg);
    }
    SUBCASE("a bad preprocessing file") {
        cim::test::write_png(root + "/cat/1.png", 2, 2, 1, std::vector<uint8_t>(4, 0));
        LoadOptions o;
        o.preprocess_path = write_yaml(tmp, "bad.yaml", "resize: 8\ncentre_crop: 4\n");
        CHECK(contains(error(o), o.preprocess_path + ":2:1: unknown key 'centre_crop'"));
    }
}
