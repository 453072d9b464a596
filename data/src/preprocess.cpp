// The --preprocess YAML file of an image folder, and preprocess_image: torchvision 0.14's standard
// transforms on a PIL image, computed the way PIL and torch compute them so that the result is
// the same float32 values (tests/data compares against python3-torchvision).
//
// The transforms, in the order a torchvision Compose would list them:
//   grayscale: true        transforms.Grayscale()   PIL convert("L"): (R*19595 + G*38470 + B*7471 + 2^15) >> 16
//   resize: N              transforms.Resize(N)     PIL bilinear resize of the shorter side to N
//   center_crop: N|[H, W]  transforms.CenterCrop()  zero padding where the crop is larger than the image
//   scale: true            transforms.ToTensor()    pixel / 255 in float32 (false: PILToTensor().float())
//   channel_order: bgr     reverse the channels (tensor[[2, 1, 0]])
//   mean, std              transforms.Normalize()   (x - mean) / std in float32, one value per output
//                                                   channel (after channel_order), or one for all
//   layout: nhwc           permute(1, 2, 0)
#include <cim/data/dataset.h>
#include <cim/error.h>
#include <cim/memory_budget.h>

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <map>

namespace cim::data {
namespace {

// ---------------------------------------------------------------- the YAML file

constexpr int kMaxSide = 32768;  // resize and crop sizes (a larger model input is no image model)
const char* const kKeys = "resize, center_crop, grayscale, channel_order, scale, mean, std, layout";

struct Reader {
    std::string file;
    std::vector<std::string> problems;

    void error(const YAML::Mark& mark, const std::string& key, const std::string& problem) {
        const int line = mark.is_null() ? 1 : mark.line + 1, col = mark.is_null() ? 1 : mark.column + 1;
        problems.push_back(file + ":" + std::to_string(line) + ":" + std::to_string(col) + ": " +
                           (key.empty() ? "" : key + ": ") + problem);
    }

    static std::string shown(const YAML::Node& n) {
        if (n.IsScalar()) return "'" + n.Scalar() + "'";
        if (n.IsSequence()) return "a list";
        if (n.IsMap()) return "a mapping";
        return "nothing";
    }

    bool integer(const YAML::Node& n, const std::string& key, int* out) {
        long long v = 0;
        if (n.IsScalar()) {
            const std::string& s = n.Scalar();
            const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
            if (ec == std::errc() && end == s.data() + s.size() && v >= 1 && v <= kMaxSide) {
                *out = int(v);
                return true;
            }
        }
        error(n.Mark(), key, "expected a whole number of pixels from 1 to " + std::to_string(kMaxSide) + ", got " + shown(n));
        return false;
    }

    bool boolean(const YAML::Node& n, const std::string& key, bool* out) {
        if (n.IsScalar() && YAML::convert<bool>::decode(n, *out)) return true;
        error(n.Mark(), key, "expected true or false, got " + shown(n));
        return false;
    }

    // One of `choices` (case-insensitive); returns its index or -1.
    int choice(const YAML::Node& n, const std::string& key, std::initializer_list<const char*> choices) {
        std::string s = n.IsScalar() ? n.Scalar() : "";
        for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
        int i = 0;
        std::string list;
        for (const char* c : choices) {
            if (s == c) return i;
            list += (i++ ? " or " : "") + std::string(c);
        }
        error(n.Mark(), key, "expected " + list + ", got " + shown(n));
        return -1;
    }

    bool numbers(const YAML::Node& n, const std::string& key, std::vector<float>* out) {
        if (!n.IsSequence() || n.size() == 0) {
            error(n.Mark(), key, "expected a list of numbers, one per channel (e.g. [0.485, 0.456, 0.406]), got " + shown(n));
            return false;
        }
        bool ok = true;
        std::vector<float> values;
        for (const YAML::Node& v : n) {
            const std::string s = v.IsScalar() ? v.Scalar() : "";
            char* end = nullptr;
            const double d = s.empty() ? NAN : std::strtod(s.c_str(), &end);
            if (s.empty() || end != s.c_str() + s.size() || !std::isfinite(d) || std::fabs(d) > 3.0e38) {
                error(v.Mark(), key, "expected a finite number, got " + shown(v));
                ok = false;
            } else {
                values.push_back(float(d));  // torch.as_tensor(mean, dtype=float32) rounds the same way
            }
        }
        if (ok) *out = std::move(values);
        return ok;
    }
};

// ---------------------------------------------------------------- pixels

struct Plane {
    int width = 0, height = 0, channels = 0;
    std::vector<uint8_t> px;  // HWC
};

// PIL's convert("L") from RGB (ITU-R 601-2 luma in 16-bit fixed point).
Plane to_gray(const Plane& in) {
    Plane out{in.width, in.height, 1, std::vector<uint8_t>(size_t(in.width) * in.height)};
    for (size_t i = 0; i < out.px.size(); ++i) {
        const uint8_t* p = &in.px[3 * i];
        out.px[i] = uint8_t((p[0] * 19595u + p[1] * 38470u + p[2] * 7471u + 0x8000u) >> 16);
    }
    return out;
}

// PIL's resampling (Resample.c, Pillow 9.4) for the bilinear filter: per output pixel a window
// of input pixels around the mapped centre, the triangle filter widened by the downscale factor
// (antialiasing), weights normalized in double and then rounded to 22-bit fixed point; 8-bit
// accumulation with rounding and clipping.
constexpr int kPrecisionBits = 32 - 8 - 2;

struct Coefficients {
    int window = 0;              // weights per output pixel
    std::vector<int> first;      // first input pixel of each output pixel
    std::vector<int> count;      // input pixels used
    std::vector<int32_t> weight; // window per output pixel, fixed point
};

Coefficients bilinear_coefficients(int in_size, int out_size) {
    const double scale = double(in_size) / out_size;
    const double filter_scale = std::max(scale, 1.0);
    const double support = 1.0 * filter_scale;  // the bilinear (triangle) filter spans [-1, 1]
    Coefficients c;
    c.window = int(std::ceil(support)) * 2 + 1;
    c.first.resize(size_t(out_size));
    c.count.resize(size_t(out_size));
    c.weight.assign(size_t(out_size) * size_t(c.window), 0);
    std::vector<double> w(size_t(c.window));
    for (int o = 0; o < out_size; ++o) {
        const double center = (o + 0.5) * scale;
        const double inv = 1.0 / filter_scale;
        const int lo = std::max(int(center - support + 0.5), 0);
        const int hi = std::min(int(center + support + 0.5), in_size);
        const int n = hi - lo;
        double total = 0.0;
        for (int k = 0; k < n; ++k) {
            const double t = std::fabs((double(k + lo) - center + 0.5) * inv);
            w[size_t(k)] = t < 1.0 ? 1.0 - t : 0.0;
            total += w[size_t(k)];
        }
        for (int k = 0; k < n; ++k) {
            const double v = total != 0.0 ? w[size_t(k)] / total : w[size_t(k)];
            c.weight[size_t(o) * size_t(c.window) + size_t(k)] =
                int32_t(v < 0 ? -0.5 + v * (1 << kPrecisionBits) : 0.5 + v * (1 << kPrecisionBits));
        }
        c.first[size_t(o)] = lo;
        c.count[size_t(o)] = n;
    }
    return c;
}

inline uint8_t clip8(int32_t acc) { return uint8_t(std::clamp(acc >> kPrecisionBits, 0, 255)); }

Plane resample_horizontal(const Plane& in, int out_width) {
    const Coefficients c = bilinear_coefficients(in.width, out_width);
    const int ch = in.channels;
    Plane out{out_width, in.height, ch, std::vector<uint8_t>(size_t(out_width) * in.height * size_t(ch))};
    for (int y = 0; y < in.height; ++y) {
        const uint8_t* row = &in.px[size_t(y) * in.width * ch];
        uint8_t* dst = &out.px[size_t(y) * out_width * ch];
        for (int x = 0; x < out_width; ++x) {
            const int32_t* k = &c.weight[size_t(x) * size_t(c.window)];
            const uint8_t* src = row + size_t(c.first[size_t(x)]) * ch;
            for (int p = 0; p < ch; ++p) {
                int32_t acc = 1 << (kPrecisionBits - 1);
                for (int i = 0; i < c.count[size_t(x)]; ++i) acc += src[i * ch + p] * k[i];
                dst[x * ch + p] = clip8(acc);
            }
        }
    }
    return out;
}

Plane resample_vertical(const Plane& in, int out_height) {
    const Coefficients c = bilinear_coefficients(in.height, out_height);
    const size_t stride = size_t(in.width) * size_t(in.channels);
    Plane out{in.width, out_height, in.channels, std::vector<uint8_t>(stride * size_t(out_height))};
    for (int y = 0; y < out_height; ++y) {
        const int32_t* k = &c.weight[size_t(y) * size_t(c.window)];
        const uint8_t* src = &in.px[size_t(c.first[size_t(y)]) * stride];
        uint8_t* dst = &out.px[size_t(y) * stride];
        for (size_t x = 0; x < stride; ++x) {
            int32_t acc = 1 << (kPrecisionBits - 1);
            for (int i = 0; i < c.count[size_t(y)]; ++i) acc += src[size_t(i) * stride + x] * k[i];
            dst[x] = clip8(acc);
        }
    }
    return out;
}

// transforms.Resize(int): the shorter side to `size`, the longer to int(size * long / short);
// PIL resizes horizontally, then vertically, each pass only where that side changes.
Plane resize_shorter(Plane img, int size) {
    const int64_t w = img.width, h = img.height;
    const int64_t shorter = std::min(w, h), longer = std::max(w, h);
    const int64_t new_long = int64_t(double(int64_t(size) * longer) / double(shorter));
    const int64_t new_w = w <= h ? size : new_long, new_h = w <= h ? new_long : size;
    if (new_long < 1 || new_long > kMaxSide * int64_t(64))
        throw InputError("resizing the " + std::to_string(w) + " x " + std::to_string(h) + " image to a shorter side of " +
                         std::to_string(size) + " gives a longer side of " + std::to_string(new_long) + " pixels");
    check_memory((new_w * h + new_w * new_h) * img.channels,
                 "resizing the " + std::to_string(w) + " x " + std::to_string(h) + " image to " +
                     std::to_string(new_w) + " x " + std::to_string(new_h));
    if (new_w != w) img = resample_horizontal(img, int(new_w));
    if (new_h != h) img = resample_vertical(img, int(new_h));
    return img;
}

// Python's int(round(d / 2.0)) for d >= 0: halves round to even.
int half_round_even(int d) {
    const int q = d / 2;
    return d % 2 == 0 || q % 2 == 0 ? q : q + 1;
}

// transforms.CenterCrop: zero padding (left/top get the smaller half) where the crop is larger
// than the image, then the crop at int(round((size - crop) / 2.0)).
Plane center_crop(const Plane& in, int crop_h, int crop_w) {
    const int pad_left = crop_w > in.width ? (crop_w - in.width) / 2 : 0;
    const int pad_top = crop_h > in.height ? (crop_h - in.height) / 2 : 0;
    const int padded_w = std::max(in.width, crop_w), padded_h = std::max(in.height, crop_h);
    const int left = half_round_even(padded_w - crop_w), top = half_round_even(padded_h - crop_h);
    const int ch = in.channels;
    Plane out{crop_w, crop_h, ch, std::vector<uint8_t>(size_t(crop_w) * crop_h * size_t(ch), 0)};
    for (int y = 0; y < crop_h; ++y) {
        const int sy = y + top - pad_top;  // row in the unpadded image
        if (sy < 0 || sy >= in.height) continue;
        for (int x = 0; x < crop_w; ++x) {
            const int sx = x + left - pad_left;
            if (sx < 0 || sx >= in.width) continue;
            std::copy_n(&in.px[(size_t(sy) * in.width + sx) * ch], ch, &out.px[(size_t(y) * crop_w + x) * ch]);
        }
    }
    return out;
}

void check_normalize(const Preprocess& pp, int channels) {
    if (pp.mean.empty() != pp.std.empty())
        throw InputError("preprocess: mean and std go together (transforms.Normalize takes both)");
    for (const auto* v : {&pp.mean, &pp.std})
        if (!v->empty() && v->size() != 1 && v->size() != size_t(channels))
            throw InputError("preprocess: mean and std need one value per channel (" + std::to_string(channels) +
                             ") or one for all, not " + std::to_string(v->size()));
    for (float s : pp.std)
        if (s == 0.0f) throw InputError("preprocess: a std of 0 would divide by zero");
}

}  // namespace

Preprocess load_preprocess(const std::string& path) {
    YAML::Node root;
    try {
        root = YAML::LoadFile(path);
    } catch (const YAML::BadFile&) {
        throw InputError(path + ": cannot open the preprocessing file");
    } catch (const YAML::Exception& e) {
        throw InputError(path + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) +
                         ": not valid YAML: " + e.msg);
    }
    Preprocess pp;
    if (root.IsNull()) return pp;  // an empty file: ToTensor only
    Reader r{path, {}};
    if (!root.IsMap()) {
        r.error(root.Mark(), "", "expected a mapping of preprocessing keys (" + std::string(kKeys) + "), got " + Reader::shown(root));
        throw InputError(r.problems.front());
    }
    std::map<std::string, YAML::Mark> seen;
    std::map<std::string, YAML::Mark> values;  // where each list key's value starts
    std::vector<YAML::Mark> std_marks;
    for (auto it = root.begin(); it != root.end(); ++it) {
        const YAML::Node k = it->first, v = it->second;
        const std::string key = k.IsScalar() ? k.Scalar() : "";
        if (!seen.emplace(key, k.Mark()).second) {
            r.error(k.Mark(), key, "given twice (first at line " + std::to_string(seen[key].line + 1) + ")");
            continue;
        }
        if (key == "resize") {
            if (v.IsSequence())
                r.error(v.Mark(), key, "takes one number, the shorter side (transforms.Resize(int)); resize to a fixed "
                                       "height and width with resize: N and center_crop: [H, W]");
            else
                r.integer(v, key, &pp.resize_shorter);
        } else if (key == "center_crop") {
            if (v.IsSequence() && (v.size() == 1 || v.size() == 2)) {
                if (r.integer(v[0], key, &pp.crop_height)) r.integer(v[v.size() - 1], key, &pp.crop_width);
            } else if (v.IsSequence()) {
                r.error(v.Mark(), key, "expected N or [height, width], got a list of " + std::to_string(v.size()));
            } else if (r.integer(v, key, &pp.crop_height)) {
                pp.crop_width = pp.crop_height;
            }
        } else if (key == "grayscale") {
            r.boolean(v, key, &pp.grayscale);
        } else if (key == "channel_order") {
            pp.bgr = r.choice(v, key, {"rgb", "bgr"}) == 1;
            values[key] = v.Mark();
        } else if (key == "scale") {
            r.boolean(v, key, &pp.scale_to_unit);
        } else if (key == "mean") {
            if (r.numbers(v, key, &pp.mean)) values[key] = v.Mark();
        } else if (key == "std") {
            if (r.numbers(v, key, &pp.std)) {
                values[key] = v.Mark();
                for (const YAML::Node& e : v) std_marks.push_back(e.Mark());
            }
        } else if (key == "layout") {
            pp.nhwc = r.choice(v, key, {"nchw", "nhwc"}) == 1;
        } else {
            r.error(k.Mark(), "", "unknown key '" + key + "'; the keys are " + kKeys);
        }
    }
    const int channels = pp.grayscale ? 1 : 3;
    if (pp.bgr && pp.grayscale) r.error(values["channel_order"], "channel_order", "bgr needs three channels, but grayscale is true");
    for (const auto& [list, name] : {std::pair{&pp.mean, "mean"}, std::pair{&pp.std, "std"}}) {
        const size_t n = list->size();
        if (n > 1 && n != size_t(channels))
            r.error(values[name], name, "has " + std::to_string(n) + " values for " + std::to_string(channels) +
                                           (pp.grayscale ? " channel (grayscale)" : " channels") + "; give one per channel or one for all");
    }
    if (seen.count("mean") != seen.count("std")) {
        const bool has_mean = seen.count("mean") > 0;
        r.error(seen[has_mean ? "mean" : "std"], has_mean ? "mean" : "std",
                std::string("mean and std go together (transforms.Normalize); add ") + (has_mean ? "std" : "mean"));
    }
    for (size_t i = 0; i < pp.std.size() && i < std_marks.size(); ++i)
        if (pp.std[i] == 0.0f) r.error(std_marks[i], "std", "0 would divide by zero");
    if (!r.problems.empty()) {
        std::string message;
        for (const std::string& p : r.problems) message += (message.empty() ? "" : "\n") + p;
        throw InputError(message);
    }
    return pp;
}

std::vector<float> preprocess_image(const Image& image, const Preprocess& pp, Shape& sample_shape) {
    if ((image.channels != 1 && image.channels != 3) || image.width <= 0 || image.height <= 0 ||
        image.pixels.size() != size_t(image.width) * size_t(image.height) * size_t(image.channels))
        throw InternalError("preprocess_image: a malformed Image (" + std::to_string(image.width) + " x " +
                            std::to_string(image.height) + " x " + std::to_string(image.channels) + ")");
    if ((pp.crop_height > 0) != (pp.crop_width > 0) || pp.crop_height < 0 || pp.crop_width < 0 || pp.resize_shorter < 0)
        throw InputError("preprocess: center crop needs a positive height and width, resize a positive size");
    const int out_c = pp.grayscale ? 1 : 3;
    check_normalize(pp, out_c);

    Plane img{image.width, image.height, image.channels, image.pixels};
    if (pp.grayscale && img.channels == 3) img = to_gray(img);
    // A gray image stays one channel through resize and crop (each RGB channel would be the same).
    if (pp.resize_shorter > 0) img = resize_shorter(std::move(img), pp.resize_shorter);
    if (pp.crop_height > 0) {
        check_memory(int64_t(pp.crop_height) * pp.crop_width * img.channels, "a center crop");
        img = center_crop(img, pp.crop_height, pp.crop_width);
    }

    const int64_t h = img.height, w = img.width, hw = h * w;
    check_memory(hw * out_c * int64_t(sizeof(float)), "a " + std::to_string(w) + " x " + std::to_string(h) + " sample");
    std::vector<float> out(size_t(hw * out_c));
    for (int c = 0; c < out_c; ++c) {
        const int src_c = img.channels == 1 ? 0 : (pp.bgr ? 2 - c : c);
        const bool norm = !pp.mean.empty();
        const float mean = norm ? pp.mean[pp.mean.size() == 1 ? 0 : size_t(c)] : 0.0f;
        const float std = norm ? pp.std[pp.std.size() == 1 ? 0 : size_t(c)] : 1.0f;
        for (int64_t i = 0; i < hw; ++i) {
            float v = float(img.px[size_t(i * img.channels + src_c)]);
            if (pp.scale_to_unit) v = v / 255.0f;
            if (norm) v = (v - mean) / std;
            out[size_t(pp.nhwc ? i * out_c + c : c * hw + i)] = v;
        }
    }
    sample_shape = pp.nhwc ? Shape{h, w, out_c} : Shape{out_c, h, w};
    return out;
}

}  // namespace cim::data
