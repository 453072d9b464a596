// libFuzzer target: the dataset layer's byte readers (data/src): the input as a NumPy .npy
// file, as an .npz archive (libzip, stored and deflated members), and as a CIFAR-10 binary batch,
// each read through load_dataset, the path cim-sim --data takes. Also the input as the labels
// .npy of a valid one-sample set (--labels), and the .npz as the arrays of a two-input model.
#include "fuzz_util.h"

#include <cim/data/dataset.h>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    for (const char* name : {"x.npy", "x.npz", "test_batch.bin"}) {
        const std::string path = cim::fuzz::input_file(name, data, size);
        cim::fuzz::expect_input_error([&] {
            cim::data::LoadOptions o;
            o.limit = 64;  // the readers check the whole file; scoring a few samples is enough
            const cim::data::Dataset d = cim::data::load_dataset(path, o);
            (void)d.inputs.tensors();  // a .npy's samples are converted (and checked) as they are read
        });
    }
    // The .npz as the data of a model of two inputs, 'x' and 'z': arrays bound by name.
    const std::string npz = cim::fuzz::input_file("two.npz", data, size);
    cim::fuzz::expect_input_error([&] {
        cim::data::LoadOptions o;
        o.limit = 64;
        o.input_names = {"x", "z"};
        (void)cim::data::load_dataset(npz, o).inputs.tensors();
    });
    // A one-sample float32 .npy with the input as its labels.
    static const std::string one = [] {
        const std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1), }";
        std::string h = header;
        while ((10 + h.size() + 1) % 64) h += ' ';
        h += '\n';
        std::string bytes = std::string("\x93NUMPY\x01\x00", 8) + char(h.size() & 0xff) + char(h.size() >> 8) + h + std::string(4, '\0');
        const std::string p = cim::fuzz::ScratchDir::get().file("one.npy");
        cim::fuzz::write_file(p, bytes.data(), bytes.size());
        return p;
    }();
    const std::string labels = cim::fuzz::input_file("labels.npy", data, size);
    cim::fuzz::expect_input_error([&] {
        cim::data::LoadOptions o;
        o.labels_path = labels;
        (void)cim::data::load_dataset(one, o).labels.size();
    });
    return 0;
}
