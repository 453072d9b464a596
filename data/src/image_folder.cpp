// read_image_folder: torchvision's ImageFolder layout, ROOT/CLASS/**/IMAGE.png|jpg|jpeg, read into
// one float tensor with the samples in ImageFolder's order and labels = class index.
//
// ImageFolder's order (torchvision 0.14 datasets/folder.py): the classes are the sorted names of
// ROOT's subfolders (symbolic links followed); within a class, os.walk(CLASS, followlinks=True)
// sorted by folder path, and the file names of each folder sorted. Names sort by their bytes, as
// Python sorts the (UTF-8) strings. A file counts by its extension, case-insensitively. Files
// with an image extension torchvision would read but we do not (.bmp, .tif, .webp, ...) are an
// error rather than silently left out: leaving them out would shift every later sample.
// ImageFolder refuses a class folder without images; so do we.
//
// Pixels: decode_image (PIL's open + convert("RGB")), then preprocess_image (the --preprocess
// transforms), in parallel with OpenMP; each sample is computed alone, so the result does not
// depend on the number of threads.
#include <cim/data/dataset.h>
#include <cim/error.h>
#include <cim/memory_budget.h>

#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <filesystem>
#include <mutex>
#include <utility>

namespace cim::data {
namespace {

namespace fs = std::filesystem;

const char* const kReadExtensions[] = {".png", ".jpg", ".jpeg"};
const char* const kOtherImageExtensions[] = {".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp"};

bool ends_with_lower(const std::string& name, const char* ext) {
    const size_t n = std::strlen(ext);
    if (name.size() < n) return false;
    for (size_t i = 0; i < n; ++i)
        if (std::tolower(static_cast<unsigned char>(name[name.size() - n + i])) != ext[i]) return false;
    return true;
}

struct Sample {
    std::string path;
    int label = 0;
};

// The entries of one folder: names of subfolders (links followed, like os.scandir's is_dir())
// and of everything else, unsorted.
void list_folder(const std::string& dir, std::vector<std::string>* folders, std::vector<std::string>* files) {
    std::error_code ec;
    fs::directory_iterator it(dir, ec), end;
    for (; !ec && it != end; it.increment(ec)) {
        std::error_code ec2;
        const bool is_dir = it->is_directory(ec2);  // false for broken links, like os.scandir
        (is_dir ? folders : files)->push_back(it->path().filename().string());
    }
    if (ec) throw InputError(dir + ": cannot list the folder: " + ec.message());
}

struct FolderId {
    dev_t dev;
    ino_t ino;
    std::string path;
};

// os.walk(dir, followlinks=True): every folder below `dir` with its files, refusing a link that
// leads back to a folder being walked (which would never end).
void walk(const std::string& dir, std::vector<FolderId>& stack, std::vector<std::pair<std::string, std::vector<std::string>>>& out) {
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0) throw InputError(dir + ": cannot read the folder: " + std::strerror(errno));
    for (const FolderId& f : stack)
        if (f.dev == st.st_dev && f.ino == st.st_ino)
            throw InputError(dir + ": a symbolic link loop: this folder is " + f.path +
                             ", which contains it; remove the link");
    stack.push_back({st.st_dev, st.st_ino, dir});
    std::vector<std::string> folders, files;
    list_folder(dir, &folders, &files);
    out.emplace_back(dir, std::move(files));
    for (const std::string& f : folders) walk((fs::path(dir) / f).string(), stack, out);
    stack.pop_back();
}

std::vector<Sample> list_samples(const std::string& root, std::vector<std::string>& classes) {
    std::vector<std::string> files;
    list_folder(root, &classes, &files);
    std::sort(classes.begin(), classes.end());
    if (classes.empty())
        throw InputError(root + ": no class folders; an image folder is ROOT/CLASS/IMAGE.png|jpg|jpeg "
                                "(torchvision's ImageFolder layout), one subfolder per class");
    struct stat st {};
    if (::stat(root.c_str(), &st) != 0) throw InputError(root + ": cannot read the folder: " + std::strerror(errno));
    std::vector<Sample> samples;
    std::vector<std::string> empty;
    for (size_t label = 0; label < classes.size(); ++label) {
        std::vector<FolderId> stack{{st.st_dev, st.st_ino, root}};
        std::vector<std::pair<std::string, std::vector<std::string>>> folders;
        walk((fs::path(root) / classes[label]).string(), stack, folders);
        std::sort(folders.begin(), folders.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
        const size_t before = samples.size();
        for (auto& [dir, names] : folders) {
            std::sort(names.begin(), names.end());
            for (const std::string& name : names) {
                const std::string path = (fs::path(dir) / name).string();
                for (const char* ext : kOtherImageExtensions)
                    if (ends_with_lower(name, ext))
                        throw InputError(path + ": only PNG and JPEG images are read (torchvision's ImageFolder "
                                                "would read this " + std::string(ext + 1) + " file): convert it to PNG or remove it");
                if (std::any_of(std::begin(kReadExtensions), std::end(kReadExtensions),
                                [&](const char* ext) { return ends_with_lower(name, ext); }))
                    samples.push_back({path, int(label)});
            }
        }
        if (samples.size() == before) empty.push_back(classes[label]);
    }
    if (!empty.empty()) {
        std::string names;
        for (const std::string& c : empty) names += (names.empty() ? "" : ", ") + c;
        throw InputError(root + ": no images (*.png, *.jpg, *.jpeg) in the class folder" + (empty.size() > 1 ? "s " : " ") +
                         names + " (torchvision's ImageFolder refuses an empty class too)");
    }
    return samples;
}

// One sample: decoded and preprocessed, problems named by the file.
std::vector<float> load_sample(const std::string& path, const Preprocess& pp, Shape& shape) {
    const Image image = decode_image(path);
    try {
        return preprocess_image(image, pp, shape);
    } catch (const InputError& e) {
        throw InputError(path + ": " + e.what());
    }
}

}  // namespace

Dataset read_image_folder(const std::string& path, const LoadOptions& options) {
    std::error_code ec;
    if (!fs::exists(path, ec)) throw InputError(path + ": no such folder");
    if (!fs::is_directory(path, ec))
        throw InputError(path + ": an image folder must be a folder (ROOT/CLASS/IMAGE.png), not a file");
    const Preprocess pp = options.preprocess_path.empty() ? Preprocess{} : load_preprocess(options.preprocess_path);

    Dataset ds;
    ds.source = path;
    ds.format = "image-folder";
    std::vector<Sample> samples = list_samples(path, ds.class_names);

    const int64_t total = int64_t(samples.size());
    if (options.skip < 0 || options.limit < -1)
        throw InputError(path + ": a negative sample count (skip " + std::to_string(options.skip) + ", limit " +
                         std::to_string(options.limit) + ")");
    if (options.skip >= total)
        throw InputError(path + ": skipping " + std::to_string(options.skip) + " samples leaves none of the " +
                         std::to_string(total) + " images");
    const int64_t count = options.limit < 0 ? total - options.skip : std::min(options.limit, total - options.skip);
    if (count == 0) throw InputError(path + ": a limit of 0 samples");
    samples.erase(samples.begin(), samples.begin() + options.skip);
    samples.resize(size_t(count));

    // The first sample fixes the shape every other must have.
    Shape shape;
    const std::vector<float> first = load_sample(samples[0].path, pp, shape);
    Shape full{count};
    full.insert(full.end(), shape.begin(), shape.end());
    int64_t bytes = 0;
    if (!checked_mul(count, int64_t(first.size()) * int64_t(sizeof(float)), &bytes)) bytes = -1;
    check_memory(bytes, path + ": " + std::to_string(count) + " samples of shape " + shape_str(shape));
    Tensor pixels(ElemType::Float, full);
    std::copy(first.begin(), first.end(), pixels.f.begin());
    ds.labels.resize(size_t(count));
    for (int64_t i = 0; i < count; ++i) ds.labels[size_t(i)] = samples[size_t(i)].label;

    // The first failing sample (in folder order) is the one reported, whatever the thread count.
    std::mutex mutex;
    int64_t failed_at = count;
    std::exception_ptr failure;
    const size_t numel = first.size();
#pragma omp parallel for schedule(dynamic, 4)
    for (int64_t i = 1; i < count; ++i) {
        {
            std::lock_guard<std::mutex> lock(mutex);
            if (i > failed_at) continue;
        }
        try {
            Shape s;
            const std::vector<float> x = load_sample(samples[size_t(i)].path, pp, s);
            if (s != shape) {
                std::string fix;
                if (options.preprocess_path.empty())
                    fix = "give a preprocessing file (--preprocess FILE.yaml) with resize and center_crop";
                else if (pp.crop_height == 0)
                    fix = "add center_crop to " + options.preprocess_path;
                throw InputError(samples[size_t(i)].path + ": gives a sample of shape " + shape_str(s) + ", but " +
                                 samples[0].path + " gives " + shape_str(shape) + "; every sample must have the same shape" +
                                 (fix.empty() ? "" : ": " + fix));
            }
            std::copy(x.begin(), x.end(), pixels.f.begin() + i * int64_t(numel));
        } catch (...) {
            std::lock_guard<std::mutex> lock(mutex);
            if (i < failed_at) failed_at = i, failure = std::current_exception();
        }
    }
    if (failure) std::rethrow_exception(failure);
    ds.inputs = std::move(pixels);
    return ds;
}

}  // namespace cim::data
