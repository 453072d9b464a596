// Small PNG and JPEG writers for the image-folder tests (zlib and libjpeg; no Python), and the
// error-message helpers they share.
#pragma once

#include <cim/error.h>

#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <jpeglib.h>

namespace cim::test {

// The message of the cim::InputError that f throws, or a marker if it throws something else or nothing.
template <class F>
std::string input_error(F&& f) {
    try {
        f();
    } catch (const cim::InputError& e) {
        return e.what();
    } catch (const std::exception& e) {
        return std::string("<not an InputError: ") + e.what() + ">";
    } catch (...) {
        return "<unknown exception>";
    }
    return "<no exception>";
}

inline bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

inline void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
    if (!out) throw std::runtime_error("cannot write " + path);
}

inline std::vector<uint8_t> read_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

inline void png_chunk(std::vector<uint8_t>& out, const char* type, const std::vector<uint8_t>& data) {
    const uint32_t n = uint32_t(data.size());
    for (int s = 24; s >= 0; s -= 8) out.push_back(uint8_t(n >> s));
    const size_t start = out.size();
    out.insert(out.end(), type, type + 4);
    out.insert(out.end(), data.begin(), data.end());
    const uint32_t crc = uint32_t(crc32(0, out.data() + start, uInt(out.size() - start)));
    for (int s = 24; s >= 0; s -= 8) out.push_back(uint8_t(crc >> s));
}

// An 8-bit PNG, gray (channels 1) or RGB (3): IHDR as given, `scanlines` (each row's filter
// byte and pixels; they may disagree with IHDR, for corrupt files) in one IDAT, none if empty.
inline std::vector<uint8_t> png_from_scanlines(uint32_t width, uint32_t height, int channels,
                                               const std::vector<uint8_t>& scanlines) {
    std::vector<uint8_t> out = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    std::vector<uint8_t> ihdr;
    for (uint32_t v : {width, height})
        for (int s = 24; s >= 0; s -= 8) ihdr.push_back(uint8_t(v >> s));
    ihdr.insert(ihdr.end(), {8, uint8_t(channels == 1 ? 0 : 2), 0, 0, 0});
    png_chunk(out, "IHDR", ihdr);
    if (!scanlines.empty()) {
        uLongf size = compressBound(uLong(scanlines.size()));
        std::vector<uint8_t> z(size);
        if (compress(z.data(), &size, scanlines.data(), uLong(scanlines.size())) != Z_OK)
            throw std::runtime_error("compress failed");
        z.resize(size);
        png_chunk(out, "IDAT", z);
    }
    png_chunk(out, "IEND", {});
    return out;
}

// An 8-bit PNG, gray (channels 1) or RGB (3), from HWC pixels.
inline std::vector<uint8_t> png_bytes(uint32_t width, uint32_t height, int channels, const std::vector<uint8_t>& pixels) {
    std::vector<uint8_t> scanlines;
    const size_t stride = size_t(width) * size_t(channels);
    for (size_t y = 0; y < height; ++y) {
        scanlines.push_back(0);  // filter: none
        scanlines.insert(scanlines.end(), pixels.begin() + long(y * stride), pixels.begin() + long((y + 1) * stride));
    }
    return png_from_scanlines(width, height, channels, scanlines);
}

inline void write_png(const std::string& path, int width, int height, int channels, const std::vector<uint8_t>& pixels) {
    write_bytes(path, png_bytes(uint32_t(width), uint32_t(height), channels, pixels));
}

// A baseline JPEG (libjpeg, quality 90) from HWC pixels, gray or RGB.
inline std::vector<uint8_t> jpeg_bytes(int width, int height, int channels, const std::vector<uint8_t>& pixels) {
    jpeg_compress_struct c;
    jpeg_error_mgr err;
    c.err = jpeg_std_error(&err);
    jpeg_create_compress(&c);
    unsigned char* buffer = nullptr;
    unsigned long size = 0;
    jpeg_mem_dest(&c, &buffer, &size);
    c.image_width = JDIMENSION(width);
    c.image_height = JDIMENSION(height);
    c.input_components = channels;
    c.in_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 90, TRUE);
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = const_cast<uint8_t*>(pixels.data()) + size_t(c.next_scanline) * size_t(width * channels);
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    std::vector<uint8_t> out(buffer, buffer + size);
    jpeg_destroy_compress(&c);
    std::free(buffer);
    return out;
}

// Pixels that vary (so that resizing and cropping have something to move), from a seed.
inline std::vector<uint8_t> pattern(int width, int height, int channels, unsigned seed) {
    std::vector<uint8_t> px(size_t(width) * size_t(height) * size_t(channels));
    uint32_t s = seed * 2654435761u + 12345u;
    for (size_t i = 0; i < px.size(); ++i) {
        s = s * 1664525u + 1013904223u;
        px[i] = uint8_t((i * 7 + (s >> 24)) & 0xFF);
    }
    return px;
}

}  // namespace cim::test
