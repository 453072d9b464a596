// Image folders against torchvision itself: tests/data/torchvision_reference.py (Debian's
// /usr/bin/python3 with python3-torchvision and python3-pil) writes PNG and JPEG files of many
// kinds and sizes in ImageFolder layout and torchvision 0.14's tensors for several preprocessing
// settings; read_image_folder must give the same classes, labels, shapes and values (within 1e-5;
// the table printed shows the largest difference per setting and file kind).
// ctest label "python" (needs scripts/setup.sh --with-training).
#include <doctest/doctest.h>

#include <cim/data/dataset.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "image_test_util.h"
#include "onnx_builder.h"  // cim::test::TempDir

namespace fs = std::filesystem;
using namespace cim::data;

namespace {

struct Reference {
    cim::Shape shape;
    std::vector<std::string> classes;
    std::vector<int> labels;
    std::vector<std::string> kinds, files;
    std::vector<float> values;
};

Reference read_reference(const std::string& dir, const std::string& name) {
    Reference r;
    std::ifstream txt(dir + "/" + name + ".txt");
    std::string line;
    std::getline(txt, line);
    std::istringstream shape(line);
    for (int64_t d; shape >> d;) r.shape.push_back(d);
    std::getline(txt, line);
    std::istringstream classes(line);
    for (std::string c; classes >> c;) r.classes.push_back(c);
    int label;
    std::string kind, file;
    while (txt >> label >> kind >> file) r.labels.push_back(label), r.kinds.push_back(kind), r.files.push_back(file);
    const std::vector<uint8_t> raw = cim::test::read_bytes(dir + "/" + name + ".f32");
    r.values.resize(raw.size() / sizeof(float));
    std::memcpy(r.values.data(), raw.data(), r.values.size() * sizeof(float));
    return r;
}

}  // namespace

TEST_CASE("image folders equal torchvision's transforms on PNG and JPEG files (python3-torchvision)") {
    cim::test::TempDir tmp;
    const std::string command =
        "/usr/bin/python3 " CIM_DATA_TEST_DIR "/torchvision_reference.py '" + tmp.path + "' 2>&1";
    FILE* pipe = popen(command.c_str(), "r");
    REQUIRE(pipe != nullptr);
    std::string output;
    for (char buf[512]; std::fgets(buf, sizeof buf, pipe);) output += buf;
    const int status = pclose(pipe);
    REQUIRE_MESSAGE(status == 0, "torchvision_reference.py failed (needs python3-torchvision: scripts/setup.sh "
                                 "--with-training):\n" << output);

    std::ifstream settings(tmp.file("settings.txt"));
    std::string name, folder;
    int checked = 0;
    std::printf("%-20s %-22s %8s %12s %10s\n", "setting", "file kind", "values", "max |diff|", "not equal");
    while (settings >> name >> folder) {
        CAPTURE(name);
        const Reference ref = read_reference(tmp.path, name);
        LoadOptions o;
        if (fs::exists(tmp.file(name + ".yaml"))) o.preprocess_path = tmp.file(name + ".yaml");
        const Dataset ds = read_image_folder(tmp.file(folder), o);
        REQUIRE(ds.sample_shape() == ref.shape);
        REQUIRE(ds.count() == int64_t(ref.labels.size()));
        CHECK(ds.class_names == ref.classes);
        CHECK(ds.labels == ref.labels);
        const cim::Tensor values = ds.inputs.tensor();
        REQUIRE(values.f.size() == ref.values.size());

        // Largest difference per file kind, and the number of values that differ at all.
        struct Stat {
            size_t values = 0, unequal = 0;
            double max_diff = 0;
            std::string worst_file;
        };
        std::map<std::string, Stat> kinds;
        const size_t per = ref.values.size() / ref.labels.size();
        for (size_t s = 0; s < ref.labels.size(); ++s) {
            Stat& k = kinds[ref.kinds[s]];
            for (size_t i = s * per; i < (s + 1) * per; ++i) {
                const double d = std::fabs(double(values.f[i]) - double(ref.values[i]));
                k.values++;
                k.unequal += values.f[i] != ref.values[i];
                if (d > k.max_diff || !(d == d)) k.max_diff = d, k.worst_file = ref.files[s];
            }
        }
        for (const auto& entry : kinds) {  // no structured binding: clang 14 cannot capture one in CHECK_MESSAGE
            const std::string& kind = entry.first;
            const auto& k = entry.second;
            std::printf("%-20s %-22s %8zu %12.3g %10zu\n", name.c_str(), kind.c_str(), k.values, k.max_diff, k.unequal);
            CHECK_MESSAGE(k.max_diff <= 1e-5, name << ": " << kind << " differs by " << k.max_diff << " in " << k.worst_file);
        }
        ++checked;
    }
    CHECK(checked >= 8);
}
