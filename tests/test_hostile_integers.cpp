// Every integer an ONNX file gives an op — an INT or INTS attribute, an int64 constant input (pads, axes,
// starts/ends/steps, split sizes, shapes, indices) — set in turn to the values that break shape arithmetic
// (0, -1, ±2^31, ±2^62, INT64_MIN/MAX), in the committed fixtures and in a few models built here for ops
// the fixtures lack. Each altered model goes through the fuzz target's entry (import, then canonize,
// forward, gradient and LRP when it imports and is small): it must import and run, or throw
// relprop::Error, never anything else. Under the sanitize stage (ASan/UBSan) an overflow or a bad index
// fails too. A systematic version of what fuzz-onnx found by chance (Pad's pads near 2^62).
#include <doctest/doctest.h>

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "relprop/error.hpp"
#include "tests/fixtures.h"
#include "tests/fuzz/entry_points.h"
#include "tests/onnx_builder.h"
#include "tests/onnx_edit.h"

using namespace relprop;
using relprop::test::ModelBuilder;
namespace fs = std::filesystem;

namespace {

const std::vector<int64_t> kHostile = {0,
                                       -1,
                                       int64_t{1} << 31,
                                       -(int64_t{1} << 31) - 1,
                                       int64_t{1} << 62,
                                       -(int64_t{1} << 62),
                                       std::numeric_limits<int64_t>::max(),
                                       std::numeric_limits<int64_t>::min()};

struct Tried {
    int models = 0, slots = 0, imported = 0, refused = 0;
    std::string last_refusal;
};

// Runs the fuzz entry on `m`; an exception other than relprop::Error fails the check with `what`.
void run(const onnx::ModelProto& m, const std::string& what, Tried& tried) {
    const std::string bytes = m.SerializeAsString();
    try {
        fuzz::onnx_entry(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
        ++tried.imported;
    } catch (const Error& e) {
        ++tried.refused;
        tried.last_refusal = e.what();
    } catch (const std::exception& e) {
        FAIL_CHECK(what << ": " << typeid(e).name() << ": " << e.what());
    }
}

// The int64/int32 tensor that value `name` is in `m` (an initializer, or a Constant node's `value`), if it
// has at most 16 elements; else null.
onnx::TensorProto* int_tensor(onnx::ModelProto& m, const std::string& name) {
    onnx::TensorProto* t = nullptr;
    for (auto& init : *m.mutable_graph()->mutable_initializer())
        if (init.name() == name) t = &init;
    for (auto& n : *m.mutable_graph()->mutable_node())
        if (n.op_type() == "Constant" && n.output_size() == 1 && n.output(0) == name)
            for (auto& a : *n.mutable_attribute())
                if (a.name() == "value" && a.has_t()) t = a.mutable_t();
    if (!t || (t->data_type() != onnx::TensorProto::INT64 && t->data_type() != onnx::TensorProto::INT32)) return nullptr;
    int64_t n = 1;
    for (int64_t d : t->dims()) n *= d;
    return n >= 1 && n <= 16 ? t : nullptr;
}

int64_t element_count(const onnx::TensorProto& t) {
    int64_t n = 1;
    for (int64_t d : t.dims()) n *= d;
    return n;
}

// Element e of an int tensor set to v, wherever the tensor keeps its data (raw bytes or typed fields).
void set_element(onnx::TensorProto& t, int e, int64_t v) {
    const bool is64 = t.data_type() == onnx::TensorProto::INT64;
    if (!t.raw_data().empty()) {
        std::string raw = t.raw_data();
        const size_t width = is64 ? 8 : 4;
        if (raw.size() < (static_cast<size_t>(e) + 1) * width) return;
        if (is64)
            std::memcpy(&raw[e * width], &v, width);
        else {
            const int32_t v32 = static_cast<int32_t>(v);
            std::memcpy(&raw[e * width], &v32, width);
        }
        t.set_raw_data(raw);
    } else if (is64 && e < t.int64_data_size()) {
        t.set_int64_data(e, v);
    } else if (!is64 && e < t.int32_data_size()) {
        t.set_int32_data(e, static_cast<int32_t>(v));
    }
}

// Sets every integer slot of `original` in turn to each hostile value. Slots are taken once per
// (op type, attribute or input position, element) so that a ResNet's twenty Convs cost one Conv's slots.
void alter_integers(const onnx::ModelProto& original, const std::string& name, Tried& tried) {
    ++tried.models;
    std::set<std::string> seen;
    onnx::ModelProto probe = original;
    const int nodes = original.graph().node_size();
    for (int k = 0; k < nodes; ++k) {
        const onnx::NodeProto& node = original.graph().node(k);
        const std::string where = name + ": node '" + node.name() + "' (" + node.op_type() + ") ";
        for (int a = 0; a < node.attribute_size(); ++a) {
            const onnx::AttributeProto& attr = node.attribute(a);
            const int count = attr.type() == onnx::AttributeProto::INT    ? 1
                              : attr.type() == onnx::AttributeProto::INTS ? attr.ints_size()
                                                                          : 0;
            for (int e = 0; e < count; ++e) {
                if (!seen.insert(node.op_type() + "/" + attr.name() + "/" + std::to_string(e)).second) continue;
                ++tried.slots;
                for (int64_t v : kHostile) {
                    onnx::ModelProto m = original;
                    onnx::AttributeProto* target = m.mutable_graph()->mutable_node(k)->mutable_attribute(a);
                    if (attr.type() == onnx::AttributeProto::INT)
                        target->set_i(v);
                    else
                        target->set_ints(e, v);
                    run(m, where + "attribute " + attr.name() + "[" + std::to_string(e) + "] = " + std::to_string(v), tried);
                }
            }
        }
        for (int i = 0; i < node.input_size(); ++i) {
            const onnx::TensorProto* tensor = int_tensor(probe, node.input(i));
            if (!tensor || node.op_type() == "Constant") continue;
            for (int e = 0; e < element_count(*tensor); ++e) {
                if (!seen.insert(node.op_type() + "/input" + std::to_string(i) + "/" + std::to_string(e)).second) continue;
                ++tried.slots;
                for (int64_t v : kHostile) {
                    onnx::ModelProto m = original;
                    set_element(*int_tensor(m, node.input(i)), e, v);
                    run(m, where + "input " + node.input(i) + "[" + std::to_string(e) + "] = " + std::to_string(v), tried);
                }
            }
        }
    }
}

// Models for the integer-taking ops no committed fixture has in this form (inputs rather than
// attributes at newer opsets).
std::vector<std::pair<std::string, onnx::ModelProto>> built_models() {
    std::vector<std::pair<std::string, onnx::ModelProto>> out;
    const auto finish = [&](const std::string& name, ModelBuilder& b, const std::string& output) {
        b.m.mutable_graph()->add_output()->set_name(output);
        out.emplace_back(name, b.m);
    };
    {
        ModelBuilder b(18, {1, 2, 4, 4});
        b.int64s("pads", {1, 2, 1, 2});
        b.int64s("pad_axes", {2, 3});
        b.node("Pad", {"x", "pads", "", "pad_axes"}, {"y"});
        finish("Pad opset 18 with axes", b, "y");
    }
    {
        ModelBuilder b(13, {1, 4, 4, 4});
        b.int64s("split", {1, 3});
        auto& s = b.node("Split", {"x", "split"}, {"a", "b"});
        ModelBuilder::i(s, "axis", 1);
        b.int64s("starts", {0, 3});
        b.int64s("ends", {4, -5});
        b.int64s("axes", {2, 3});
        b.int64s("steps", {1, -1});
        b.node("Slice", {"b", "starts", "ends", "axes", "steps"}, {"c"});
        b.int64s("unsq", {2});
        b.node("Unsqueeze", {"c", "unsq"}, {"d"});
        b.int64s("sq", {2});
        b.node("Squeeze", {"d", "sq"}, {"e"});
        b.int64s("sum_axes", {1});
        auto& r = b.node("ReduceSum", {"e", "sum_axes"}, {"f"});
        ModelBuilder::i(r, "keepdims", 1);
        b.node("Add", {"f", "a"}, {"y"});
        finish("Split, Slice with steps, Unsqueeze, Squeeze, ReduceSum at opset 13", b, "y");
    }
    {
        ModelBuilder b(18, {1, 3, 4, 4});
        b.int64s("mean_axes", {2, 3});
        b.node("ReduceMean", {"x", "mean_axes"}, {"m"});
        b.int64s("idx", {2, 0});
        auto& g = b.node("Gather", {"m", "idx"}, {"g"});
        ModelBuilder::i(g, "axis", 1);
        b.int64s("shape", {1, -1});
        b.node("Reshape", {"g", "shape"}, {"y"});
        finish("ReduceMean opset 18, Gather, Reshape", b, "y");
    }
    return out;
}

}  // namespace

TEST_CASE("hostile integers: every integer attribute and constant input, at overflow-prone values") {
    Tried tried;
    std::vector<fs::path> files;
    for (const char* dir : {"onnx", "keras", "zennit_blocks", "gating"})
        for (const auto& e : fs::directory_iterator(test::fixture_path(dir)))
            if (e.path().extension() == ".onnx") files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (const fs::path& f : files) {
        onnx::ModelProto m;
        REQUIRE(m.ParseFromString(test::read_file(f.string())));
        alter_integers(m, f.filename().string(), tried);
    }
    for (const auto& [name, m] : built_models()) {
        const int refused = tried.refused;
        run(m, name + " (unaltered)", tried);
        REQUIRE_MESSAGE(tried.refused == refused, name << " does not import as built: " << tried.last_refusal);
        alter_integers(m, name, tried);
    }
    MESSAGE(tried.models << " models, " << tried.slots << " integer slots, " << tried.slots * kHostile.size()
                         << " altered models: " << tried.imported << " imported, " << tried.refused << " refused");
    CHECK(tried.models >= 50);
    CHECK(tried.slots >= 150);
    CHECK(tried.refused > 0);
}
