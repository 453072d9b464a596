// decode_image: one PNG (libpng) or JPEG (libjpeg-turbo) file to 8-bit pixels, the way PIL's
// Image.open(f).convert("RGB") sees them (torchvision's ImageFolder loader), so that the
// preprocessing in preprocess.cpp starts from the same bytes as torchvision does.
//
// What PIL 9.4 does, and so what this does (checked against PIL on generated files by
// tests/data/torchvision_reference.py):
//   PNG gray 1/2/4-bit      scaled to 0..255 (x 255, 85, 17)                      -> 1 channel
//   PNG gray 16-bit         PIL's mode "I": the value clipped to 255 (not the high byte) -> 1 channel
//   PNG gray + alpha        the gray value (16-bit: the high byte); alpha dropped -> 1 channel
//   PNG RGB / RGBA          8-bit as is, 16-bit the high byte; alpha dropped        -> 3 channels
//   PNG palette             looked up in PLTE; an index past the PLTE entries reads PIL's gray ramp
//                           (i, i, i); tRNS ignored                                 -> 3 channels
//   JPEG gray / YCbCr / RGB libjpeg's default decoding (islow IDCT, fancy upsampling) -> 1 or 3
//   JPEG CMYK / YCCK        Adobe (inverted) polarity, then PIL's CMYK -> RGB       -> 3 channels
// Gamma, ICC profiles and EXIF orientation are ignored, as PIL's open + convert ignores them.
// A gray image becomes RGB (or an RGB image gray) in preprocess_image, which gives the same
// bytes as PIL's convert("RGB") (convert("L")) would.
//
// Errors: libpng and libjpeg report through setjmp/longjmp; the frames that call setjmp
// (png_phase / jpeg_phase) hold no C++ objects, and every problem becomes a cim::InputError
// naming the file. Corrupt-data warnings of libjpeg (truncated file, bad Huffman code, ...)
// are errors here, where PIL would raise "image file is truncated" or decode garbage.
#include <cim/data/dataset.h>
#include <cim/error.h>
#include <cim/memory_budget.h>

#include <png.h>
// jpeglib.h needs size_t and FILE declared first.
#include <cstdio>
#include <jpeglib.h>
// jerror.h after jpeglib.h (its jconfig.h decides which messages exist).
#include <jerror.h>

#include <algorithm>
#include <csetjmp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

namespace cim::data {
namespace {

// PIL refuses images of more than twice Image.MAX_IMAGE_PIXELS (DecompressionBombError).
constexpr int64_t kMaxPixels = int64_t(2) * 89478485;
// A Huffman-coded JPEG spends at least one bit per 8x8 block per scan (a DC code; baseline also an
// EOB), so even a flat image in 4:2:0 stays under ~350 pixels per byte. Far more is a header that
// promises an image the file does not hold (found by fuzz_image: 64 bytes declaring 32773 x 4136
// pixels, whose missing scans libjpeg decodes as gray for seconds).
constexpr int64_t kMaxJpegPixelsPerByte = 1024;

[[noreturn]] void fail(const std::string& path, const std::string& problem) {
    throw InputError(path + ": " + problem);
}

std::vector<uint8_t> read_whole_file(const std::string& path) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::file_status st = fs::status(path, ec);
    if (ec || !fs::exists(st)) fail(path, "cannot open the image: no such file");
    if (fs::is_directory(st)) fail(path, "is a folder, not an image file");
    const uintmax_t size = fs::file_size(path, ec);
    if (ec) fail(path, "cannot read the image file: " + ec.message());
    if (size == 0) fail(path, "the file is empty, not a PNG or JPEG image");
    check_memory(size > uintmax_t(INT64_MAX) ? -1 : int64_t(size), path + ": the image file");
    std::vector<uint8_t> bytes(static_cast<size_t>(size));
    std::ifstream in(path, std::ios::binary);
    if (!in) fail(path, "cannot open the image file");
    in.read(reinterpret_cast<char*>(bytes.data()), std::streamsize(size));
    if (size_t(in.gcount()) != bytes.size()) fail(path, "cannot read the image file (it changed while being read?)");
    return bytes;
}

// Dimensions from a header: a sane cap and the process memory budget, before any allocation.
// `bytes_per_pixel` counts every buffer the decoder will hold at once.
void check_dimensions(const std::string& path, int64_t width, int64_t height, int64_t bytes_per_pixel,
                      int64_t extra_bytes) {
    if (width <= 0 || height <= 0)
        fail(path, "the header gives an empty image (" + std::to_string(width) + " x " + std::to_string(height) + ")");
    int64_t pixels = 0, bytes = 0;
    if (!checked_mul(width, height, &pixels) || pixels > kMaxPixels)
        fail(path, "the header gives " + std::to_string(width) + " x " + std::to_string(height) +
                       " pixels, more than the " + std::to_string(kMaxPixels) +
                       " an image may have (PIL refuses such images too); the file is corrupt or not a dataset image");
    if (!checked_mul(pixels, bytes_per_pixel, &bytes) || __builtin_add_overflow(bytes, extra_bytes, &bytes)) bytes = -1;
    check_memory(bytes, path + ": a " + std::to_string(width) + " x " + std::to_string(height) + " image");
}

// ---------------------------------------------------------------- PNG

struct PngJob {
    const uint8_t* data = nullptr;
    size_t size = 0, pos = 0;
    char message[256] = {};
    png_structp png = nullptr;
    png_infop info = nullptr;
    // IHDR
    png_uint_32 width = 0, height = 0;
    int bit_depth = 0, color_type = 0, interlace = 0;
    // reading
    uint8_t* raw = nullptr;  // rows x rowbytes (interlaced: the whole image; else one row)
    size_t rowbytes = 0;
    png_bytep* rows = nullptr;
    uint8_t* out = nullptr;
    void (*convert_row)(const PngJob&, const uint8_t* raw, uint8_t* out) = nullptr;
    uint8_t palette[256][3] = {};
    int out_channels = 0;
};

void png_error_fn(png_structp png, png_const_charp msg) {
    auto* job = static_cast<PngJob*>(png_get_error_ptr(png));
    std::snprintf(job->message, sizeof job->message, "%s", msg);
    png_longjmp(png, 1);
}
void png_warning_fn(png_structp, png_const_charp) {}  // PIL does not report them either

void png_read_fn(png_structp png, png_bytep out, size_t n) {
    auto* job = static_cast<PngJob*>(png_get_io_ptr(png));
    if (job->size - job->pos < n) png_error(png, "the file is truncated");
    std::memcpy(out, job->data + job->pos, n);
    job->pos += n;
}

// Phase 1 reads the header, phase 2 the pixels. Returns false after a libpng error (message in
// job->message). No object with a destructor lives in this frame (setjmp/longjmp).
bool png_phase(PngJob* job, int phase) {
    if (setjmp(png_jmpbuf(job->png))) return false;
    if (phase == 1) {
        png_set_read_fn(job->png, job, png_read_fn);
        png_read_info(job->png, job->info);
        png_get_IHDR(job->png, job->info, &job->width, &job->height, &job->bit_depth, &job->color_type,
                     &job->interlace, nullptr, nullptr);
        if (job->bit_depth < 8) png_set_packing(job->png);  // one byte per pixel, values unscaled
        png_set_interlace_handling(job->png);
        png_read_update_info(job->png, job->info);
        job->rowbytes = png_get_rowbytes(job->png, job->info);
        if (job->color_type == PNG_COLOR_TYPE_PALETTE) {
            for (int i = 0; i < 256; ++i) job->palette[i][0] = job->palette[i][1] = job->palette[i][2] = uint8_t(i);
            png_colorp plte = nullptr;
            int n = 0;
            if (png_get_PLTE(job->png, job->info, &plte, &n) & PNG_INFO_PLTE)
                for (int i = 0; i < std::min(n, 256); ++i)
                    job->palette[i][0] = plte[i].red, job->palette[i][1] = plte[i].green, job->palette[i][2] = plte[i].blue;
        }
        return true;
    }
    const size_t width_out = size_t(job->width) * size_t(job->out_channels);
    if (job->interlace != PNG_INTERLACE_NONE) {
        png_read_image(job->png, job->rows);
        for (png_uint_32 y = 0; y < job->height; ++y) job->convert_row(*job, job->rows[y], job->out + y * width_out);
    } else {
        for (png_uint_32 y = 0; y < job->height; ++y) {
            png_read_row(job->png, job->raw, nullptr);
            job->convert_row(*job, job->raw, job->out + y * width_out);
        }
    }
    return true;
}

inline uint8_t high_byte(const uint8_t* p) { return p[0]; }  // 16-bit samples are big-endian

void png_gray_row(const PngJob& job, const uint8_t* raw, uint8_t* out) {
    const png_uint_32 w = job.width;
    switch (job.bit_depth) {
        case 1: for (png_uint_32 x = 0; x < w; ++x) out[x] = uint8_t(raw[x] * 255); break;
        case 2: for (png_uint_32 x = 0; x < w; ++x) out[x] = uint8_t(raw[x] * 85); break;
        case 4: for (png_uint_32 x = 0; x < w; ++x) out[x] = uint8_t(raw[x] * 17); break;
        case 8: std::memcpy(out, raw, w); break;
        default:  // 16: PIL opens it as mode "I" and convert() clips to 0..255
            for (png_uint_32 x = 0; x < w; ++x) {
                const unsigned v = unsigned(raw[2 * x]) << 8 | raw[2 * x + 1];
                out[x] = uint8_t(std::min(v, 255u));
            }
    }
}
void png_gray_alpha_row(const PngJob& job, const uint8_t* raw, uint8_t* out) {
    const size_t step = job.bit_depth == 16 ? 4 : 2;
    for (png_uint_32 x = 0; x < job.width; ++x) out[x] = high_byte(raw + x * step);
}
void png_rgb_row(const PngJob& job, const uint8_t* raw, uint8_t* out) {
    const size_t sample = job.bit_depth == 16 ? 2 : 1;
    const size_t step = sample * (job.color_type == PNG_COLOR_TYPE_RGB_ALPHA ? 4 : 3);
    for (png_uint_32 x = 0; x < job.width; ++x)
        for (int c = 0; c < 3; ++c) out[3 * x + c] = high_byte(raw + x * step + c * sample);
}
void png_palette_row(const PngJob& job, const uint8_t* raw, uint8_t* out) {
    for (png_uint_32 x = 0; x < job.width; ++x) std::memcpy(out + 3 * x, job.palette[raw[x]], 3);
}

Image decode_png(const std::string& path, const std::vector<uint8_t>& bytes) {
    PngJob job;
    job.data = bytes.data();
    job.size = bytes.size();
    job.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &job, png_error_fn, png_warning_fn);
    if (job.png) job.info = png_create_info_struct(job.png);
    struct Cleanup {
        PngJob& j;
        ~Cleanup() { png_destroy_read_struct(&j.png, j.info ? &j.info : nullptr, nullptr); }
    } cleanup{job};
    if (!job.info) throw std::bad_alloc();
    if (!png_phase(&job, 1)) fail(path, std::string("not a readable PNG image: ") + job.message);

    switch (job.color_type) {
        case PNG_COLOR_TYPE_GRAY: job.out_channels = 1, job.convert_row = png_gray_row; break;
        case PNG_COLOR_TYPE_GRAY_ALPHA: job.out_channels = 1, job.convert_row = png_gray_alpha_row; break;
        case PNG_COLOR_TYPE_RGB:
        case PNG_COLOR_TYPE_RGB_ALPHA: job.out_channels = 3, job.convert_row = png_rgb_row; break;
        case PNG_COLOR_TYPE_PALETTE: job.out_channels = 3, job.convert_row = png_palette_row; break;
        default: fail(path, "PNG color type " + std::to_string(job.color_type) + " is not one PNG defines");
    }
    // Interlaced images are read whole (libpng's raw rows), others one row at a time.
    const bool interlaced = job.interlace != PNG_INTERLACE_NONE;
    const int64_t raw_bytes = int64_t(job.rowbytes) * (interlaced ? int64_t(job.height) : 1);
    check_dimensions(path, job.width, job.height, job.out_channels,
                     raw_bytes + (interlaced ? int64_t(job.height) * int64_t(sizeof(png_bytep)) : 0));

    Image image;
    image.width = int(job.width), image.height = int(job.height), image.channels = job.out_channels;
    image.pixels.resize(size_t(job.width) * job.height * size_t(job.out_channels));
    std::vector<uint8_t> raw(interlaced ? job.rowbytes * job.height : job.rowbytes);
    std::vector<png_bytep> rows(interlaced ? job.height : 0);
    for (size_t y = 0; y < rows.size(); ++y) rows[y] = raw.data() + y * job.rowbytes;
    job.raw = raw.data(), job.rows = rows.data(), job.out = image.pixels.data();
    if (!png_phase(&job, 2)) fail(path, std::string("corrupt PNG image data: ") + job.message);
    return image;
}

// ---------------------------------------------------------------- JPEG

struct JpegJob {
    jpeg_decompress_struct cinfo;
    jpeg_error_mgr err;
    std::jmp_buf jump;
    char message[JMSG_LENGTH_MAX + 64] = {};
    const uint8_t* data = nullptr;
    size_t size = 0;
    uint8_t* out = nullptr;
    bool created = false;
};

void jpeg_error_exit(j_common_ptr cinfo) {
    auto* job = static_cast<JpegJob*>(cinfo->client_data);
    (*cinfo->err->format_message)(cinfo, job->message);
    std::longjmp(job->jump, 1);
}

// Warnings that mean the pixels are not what the file was meant to hold are errors here.
void jpeg_emit_message(j_common_ptr cinfo, int level) {
    if (level != -1) return;  // trace messages
    switch (cinfo->err->msg_code) {
        case JWRN_JPEG_EOF:
        case JWRN_HIT_MARKER:
        case JWRN_HUFF_BAD_CODE:
#if JPEG_LIB_VERSION >= 70 || defined(D_ARITH_CODING_SUPPORTED)
        case JWRN_ARITH_BAD_CODE:
#endif
        case JWRN_MUST_RESYNC:
        case JWRN_NOT_SEQUENTIAL:
        case JWRN_BOGUS_PROGRESSION: jpeg_error_exit(cinfo);
        default: break;  // e.g. extraneous bytes before a marker: PIL reads such files, so do we
    }
}
void jpeg_output_message(j_common_ptr) {}

bool jpeg_phase(JpegJob* job, int phase) {
    if (setjmp(job->jump)) return false;
    j_decompress_ptr cinfo = &job->cinfo;
    if (phase == 1) {
        jpeg_create_decompress(cinfo);
        job->created = true;
        cinfo->client_data = job;
        jpeg_mem_src(cinfo, job->data, static_cast<unsigned long>(job->size));
        jpeg_read_header(cinfo, TRUE);
        switch (cinfo->num_components) {
            case 1: cinfo->out_color_space = JCS_GRAYSCALE; break;
            case 3: cinfo->out_color_space = JCS_RGB; break;
            case 4: cinfo->out_color_space = JCS_CMYK; break;
            default: break;  // refused by the caller
        }
        return true;
    }
    jpeg_start_decompress(cinfo);
    const size_t stride = size_t(cinfo->output_width) * size_t(cinfo->output_components);
    while (cinfo->output_scanline < cinfo->output_height) {
        JSAMPROW row = job->out + size_t(cinfo->output_scanline) * stride;
        jpeg_read_scanlines(cinfo, &row, 1);
    }
    jpeg_finish_decompress(cinfo);
    return true;
}

// PIL reads 4-component JPEGs as Adobe-inverted CMYK ("CMYK;I") and converts to RGB with
// r = clip(nk - nk * c / 255), nk = 255 - k, in its rounded integer form.
void cmyk_to_rgb(uint8_t* pixels, size_t count) {
    const auto muldiv255 = [](int a, int b) {
        const int t = a * b + 128;
        return ((t >> 8) + t) >> 8;
    };
    for (size_t i = 0; i < count; ++i) {
        const uint8_t* in = pixels + 4 * i;
        const int nk = in[3];  // 255 - (255 - stored)
        uint8_t rgb[3];
        for (int c = 0; c < 3; ++c) rgb[c] = uint8_t(std::clamp(nk - muldiv255(255 - in[c], nk), 0, 255));
        std::memcpy(pixels + 3 * i, rgb, 3);
    }
}

Image decode_jpeg(const std::string& path, const std::vector<uint8_t>& bytes) {
    auto job = std::make_unique<JpegJob>();
    job->cinfo.err = jpeg_std_error(&job->err);
    job->err.error_exit = jpeg_error_exit;
    job->err.emit_message = jpeg_emit_message;
    job->err.output_message = jpeg_output_message;
    job->cinfo.client_data = job.get();
    job->data = bytes.data(), job->size = bytes.size();
    struct Cleanup {
        JpegJob& j;
        ~Cleanup() {
            if (j.created) jpeg_destroy_decompress(&j.cinfo);
        }
    } cleanup{*job};
    if (!jpeg_phase(job.get(), 1)) fail(path, std::string("not a readable JPEG image: ") + job->message);
    const jpeg_decompress_struct& ci = job->cinfo;
    const int comps = ci.num_components;
    if (comps != 1 && comps != 3 && comps != 4)
        fail(path, "a JPEG image with " + std::to_string(comps) + " color components (PIL reads 1, 3 or 4)");
    // Progressive and other multi-scan files are decoded through a whole-image buffer of 16-bit coefficients.
    const int64_t coefficients = jpeg_has_multiple_scans(&job->cinfo) ? int64_t(2) * comps : 0;
    check_dimensions(path, ci.image_width, ci.image_height, comps + coefficients, 0);
    if (int64_t(ci.image_width) * int64_t(ci.image_height) > kMaxJpegPixelsPerByte * int64_t(bytes.size()))
        fail(path, "the JPEG header declares " + std::to_string(ci.image_width) + " x " + std::to_string(ci.image_height) +
                       " pixels in a file of " + std::to_string(bytes.size()) +
                       " bytes, more than a JPEG can hold: the file is truncated or corrupt");

    Image image;
    image.width = int(ci.image_width), image.height = int(ci.image_height), image.channels = comps == 1 ? 1 : 3;
    std::vector<uint8_t> pixels(size_t(ci.image_width) * ci.image_height * size_t(comps));
    job->out = pixels.data();
    if (!jpeg_phase(job.get(), 2)) fail(path, std::string("corrupt JPEG image data: ") + job->message);
    if (int(ci.output_width) != image.width || int(ci.output_height) != image.height || ci.output_components != comps)
        fail(path, "the JPEG decoder returned an unexpected image size");
    if (comps == 4) {
        cmyk_to_rgb(pixels.data(), size_t(image.width) * size_t(image.height));
        pixels.resize(size_t(image.width) * image.height * 3);
    }
    image.pixels = std::move(pixels);
    return image;
}

// What a file that is not PNG or JPEG most likely is, for the message.
std::string describe_other_format(const std::vector<uint8_t>& b) {
    const auto starts = [&](const char* magic, size_t at = 0) {
        const size_t n = std::strlen(magic);
        return b.size() >= at + n && std::memcmp(b.data() + at, magic, n) == 0;
    };
    if (starts("GIF8")) return "a GIF image";
    if (starts("BM")) return "a BMP image";
    if (starts("RIFF") && starts("WEBP", 8)) return "a WebP image";
    if (b.size() >= 4 && ((b[0] == 'I' && b[1] == 'I' && b[2] == '*' && b[3] == 0) ||
                          (b[0] == 'M' && b[1] == 'M' && b[2] == 0 && b[3] == '*')))
        return "a TIFF image";
    if (b.size() >= 2 && b[0] == 'P' && b[1] >= '1' && b[1] <= '6') return "a PNM (PPM/PGM/PBM) image";
    return "";
}

}  // namespace

Image decode_image(const std::string& path) {
    const std::vector<uint8_t> bytes = read_whole_file(path);
    static const uint8_t png_magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    if (bytes.size() >= 8 && std::memcmp(bytes.data(), png_magic, 8) == 0) return decode_png(path, bytes);
    if (bytes.size() >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF) return decode_jpeg(path, bytes);
    const std::string other = describe_other_format(bytes);
    if (!other.empty()) fail(path, "is " + other + "; only PNG and JPEG images are read: convert it to PNG");
    if (bytes.size() >= 4 && std::memcmp(bytes.data(), png_magic, 4) == 0) fail(path, "not a PNG image: its signature is damaged");
    fail(path, "not a PNG or JPEG image (the file does not start with a PNG or JPEG signature)");
}

}  // namespace cim::data
