// Broken ONNX models for tests: a fixture parsed into protobuf, then edited (a node, an initializer,
// an attribute) and serialized again.
#pragma once

#include <onnx/onnx_pb.h>

#include <fstream>
#include <sstream>
#include <string>

#include <doctest/doctest.h>

#include "tests/fixtures.h"

namespace relprop::test {

inline std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// tests/fixtures/onnx/<name>.onnx as a protobuf message.
inline onnx::ModelProto fixture(const std::string& name) {
    onnx::ModelProto m;
    REQUIRE(m.ParseFromString(read_file(fixture_path("onnx/" + name + ".onnx"))));
    return m;
}

// `m` serialized to `path`; returns the path.
inline std::string save_model(const std::string& path, const onnx::ModelProto& m) {
    std::ofstream(path, std::ios::binary) << m.SerializeAsString();
    return path;
}

inline onnx::TensorProto* initializer(onnx::ModelProto& m, const std::string& name) {
    for (auto& t : *m.mutable_graph()->mutable_initializer())
        if (t.name() == name) return &t;
    FAIL("no initializer " << name);
    return nullptr;
}

inline onnx::NodeProto* node_of_type(onnx::ModelProto& m, const std::string& type) {
    for (auto& n : *m.mutable_graph()->mutable_node())
        if (n.op_type() == type) return &n;
    FAIL("no node of type " << type);
    return nullptr;
}

// The node's attribute `name`, added (untyped) if it has none.
inline onnx::AttributeProto* attribute(onnx::NodeProto& n, const std::string& name) {
    for (auto& a : *n.mutable_attribute())
        if (a.name() == name) return &a;
    auto* a = n.add_attribute();
    a->set_name(name);
    return a;
}

}  // namespace relprop::test
