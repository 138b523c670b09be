/// @file
/// ONNX external data: tensors whose bytes live in a file next to the .onnx (`data_location: EXTERNAL`,
/// key/value pairs `location`, `offset`, `length`), as torch.onnx.export (the dynamo exporter, PyTorch
/// ≥ 2.9's default) writes them and as every model over protobuf's 2 GiB limit must. The bytes are read
/// into the tensor's raw_data one tensor at a time, just before the importer converts it.
#pragma once

#include <cstdint>
#include <fstream>
#include <map>
#include <memory>
#include <string>

#include <onnx/onnx_pb.h>

namespace relprop {

class ExternalData {
public:
    /// `directory`: where `location`s are resolved (the .onnx file's folder); empty: none is known (a model
    /// from memory), and a tensor with external data is an Error that says what to do.
    explicit ExternalData(std::string directory);

    /// If `tensor` keeps its data in an external file, reads it into raw_data (and marks the tensor as
    /// holding its data). `bytes_per_element` is the tensor type's size (0: not a type relprop reads;
    /// left to the converter's message). Throws relprop::Error naming the tensor and the file on a location
    /// that is absolute or leaves the folder, a missing or unreadable file, a bad offset or length, or a
    /// file too short. `max_elements` bounds the tensor before anything is read.
    void inline_into(onnx::TensorProto& tensor, int64_t bytes_per_element, int64_t max_elements);

private:
    std::ifstream& open(const std::string& location, const std::string& label);

    std::string m_directory;
    std::map<std::string, std::unique_ptr<std::ifstream>> m_files;  // by location, opened once
};

}  // namespace relprop
