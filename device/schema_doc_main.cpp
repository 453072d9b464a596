// Prints the device schema reference (markdown) to stdout, or writes it to
// the file named by the first argument.
#include <exception>
#include <fstream>
#include <iostream>

#include "cim/device/device_spec.h"

int main(int argc, char** argv) {
    try {
        const std::string text = cim::device_schema_markdown();
        if (argc < 2) {
            std::cout << text;
            return 0;
        }
        std::ofstream out(argv[1], std::ios::binary);
        out << text;
        if (!out) {
            std::cerr << argv[1] << ": cannot write\n";
            return 2;
        }
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "cim_device_schema_doc: " << e.what() << "\n";
        return 1;
    }
}
