#include "io/onnx_external_data.h"

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "relprop/error.hpp"

namespace relprop {

namespace fs = std::filesystem;

namespace {

// A decimal offset or length: digits only, no sign, no overflow.
int64_t parse_count(const std::string& text, const std::string& what) {
    int64_t v = 0;
    if (text.empty()) throw Error(what + " is empty");
    for (char c : text) {
        if (c < '0' || c > '9') throw Error(what + " '" + text + "' is not a whole number");
        if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, c - '0', &v))
            throw Error(what + " '" + text + "' is too large");
    }
    return v;
}

}  // namespace

ExternalData::ExternalData(std::string directory) : m_directory(std::move(directory)) {}

std::ifstream& ExternalData::open(const std::string& location, const std::string& label) {
    auto it = m_files.find(location);
    if (it != m_files.end()) return *it->second;
    // As ONNX's own loader: the location is relative to the model's folder and stays inside it (a model
    // file must not read /etc/passwd or ../../secrets as weights). Links inside the folder are followed.
    const fs::path rel(location);
    if (location.empty()) throw Error(label + " has external data without a 'location'");
    if (rel.is_absolute() || rel.has_root_name() || rel.has_root_directory())
        throw Error(label + " keeps its data at the absolute path '" + location +
                    "'; ONNX external data must be a path relative to the model's folder");
    for (const fs::path& part : rel)
        if (part == "..")
            throw Error(label + " keeps its data at '" + location +
                        "', outside the model's folder; ONNX external data must stay inside it");
    const fs::path file = fs::path(m_directory) / rel;
    std::error_code ec;
    if (!fs::is_regular_file(file, ec))
        throw Error(label + " keeps its data in '" + file.string() + "', which " +
                    (fs::exists(file, ec) ? "is not a regular file" : "does not exist") +
                    " (an ONNX model with external data needs its data file(s) next to it)");
    auto in = std::make_unique<std::ifstream>(file, std::ios::binary);
    if (!*in) throw Error(label + ": cannot open its external data file '" + file.string() + "': " + std::strerror(errno));
    return *m_files.emplace(location, std::move(in)).first->second;
}

void ExternalData::inline_into(onnx::TensorProto& tensor, int64_t bytes_per_element, int64_t max_elements) {
    if (tensor.data_location() != onnx::TensorProto::EXTERNAL) return;
    const std::string label = "tensor '" + tensor.name() + "'";
    if (m_directory.empty())
        throw Error(label + " keeps its data in an external file, and a model read from memory has no folder to find "
                            "it in: load the model from its path, or give the data file's folder (ImportOptions::external_data_dir; "
                            "Python: Model(..., external_data_dir=...))");
    std::string location;
    int64_t offset = 0, length = -1;
    for (const auto& kv : tensor.external_data()) {
        if (kv.key() == "location")
            location = kv.value();
        else if (kv.key() == "offset")
            offset = parse_count(kv.value(), label + ": external data offset");
        else if (kv.key() == "length")
            length = parse_count(kv.value(), label + ": external data length");
    }
    if (bytes_per_element == 0) return;  // the converter names the unsupported type
    int64_t n = 1;
    for (int64_t d : tensor.dims()) {
        if (d < 0) throw Error(label + " has a negative dimension " + std::to_string(d));
        if (__builtin_mul_overflow(n, d, &n) || n > max_elements)
            throw Error(label + " has more than the limit of " + std::to_string(max_elements) +
                        " elements (raise ImportOptions::max_tensor_elements to import it)");
    }
    const int64_t expected = n * bytes_per_element;
    if (length >= 0 && length != expected)
        throw Error(label + " declares " + std::to_string(length) + " bytes of external data; its shape and type need " +
                    std::to_string(expected));
    std::ifstream& in = open(location, label);
    in.clear();
    in.seekg(0, std::ios::end);
    const int64_t size = static_cast<int64_t>(in.tellg());
    if (offset > size || expected > size - offset)
        throw Error(label + " needs " + std::to_string(expected) + " bytes at offset " + std::to_string(offset) + " of '" +
                    location + "', which has " + std::to_string(size) + " bytes (truncated or wrong data file?)");
    std::string bytes(static_cast<size_t>(expected), '\0');
    in.seekg(offset);
    if (!in.read(bytes.data(), expected)) throw Error(label + ": reading its external data from '" + location + "' failed");
    tensor.set_raw_data(std::move(bytes));
    tensor.clear_external_data();
    tensor.set_data_location(onnx::TensorProto::DEFAULT);
}

}  // namespace relprop
