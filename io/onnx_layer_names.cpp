#include "io/onnx_layer_names.h"

#include <vector>

#include <google/protobuf/unknown_field_set.h>

namespace relprop {

namespace {

constexpr int kMetadataProps = 9;  // NodeProto.metadata_props in onnx.proto

bool ends_with(const std::string& s, const std::string& tail) {
    return s.size() > tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// The strings of a Python list literal of single-quoted strings ("['', 'layer1', 'relu_1']"); empty when
// the text is not one.
std::vector<std::string> python_string_list(const std::string& text) {
    std::vector<std::string> out;
    size_t k = text.find('[');
    if (k == std::string::npos) return {};
    for (++k; k < text.size();) {
        while (k < text.size() && (text[k] == ' ' || text[k] == ',')) ++k;
        if (k < text.size() && text[k] == ']') return out;
        if (k >= text.size() || text[k] != '\'') return {};
        const size_t end = text.find('\'', k + 1);
        if (end == std::string::npos) return {};
        out.push_back(text.substr(k + 1, end - k - 1));
        k = end + 1;
    }
    return {};
}

}  // namespace

std::string tf2onnx_layer_name(const onnx::NodeProto& n) {
    const std::string& op = n.op_type();
    if (op != "Conv" && op != "Gemm" && op != "MatMul") return "";
    const std::string& name = n.name();
    const std::string prefix = op + "__";
    if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0 ||
        name.find_first_not_of("0123456789", prefix.size()) != std::string::npos || n.input_size() < 2)
        return "";
    std::string weight = n.input(1);
    if (ends_with(weight, ":0")) weight.resize(weight.size() - 2);
    const size_t slash = weight.rfind('/');
    return slash == std::string::npos || slash == 0 ? "" : weight.substr(0, slash);
}

std::string torch_module_name(const onnx::NodeProto& n) {
    // NodeProto.metadata_props (field 9, ONNX ≥ 1.16) is newer than Debian's libonnx 1.12, whose classes keep
    // it among the unknown fields: each entry a StringStringEntryProto.
    std::string module;
    const google::protobuf::UnknownFieldSet& unknown = n.unknown_fields();
    for (int k = 0; k < unknown.field_count(); ++k) {
        const google::protobuf::UnknownField& f = unknown.field(k);
        if (f.number() != kMetadataProps || f.type() != google::protobuf::UnknownField::TYPE_LENGTH_DELIMITED) continue;
        onnx::StringStringEntryProto entry;
        if (!entry.ParseFromString(f.length_delimited()) || entry.key() != "pkg.torch.onnx.name_scopes") continue;
        // The last entry is the traced operation (relu_1), the one before it the innermost module.
        const std::vector<std::string> scopes = python_string_list(entry.value());
        if (scopes.size() >= 2) module = scopes[scopes.size() - 2];
    }
    if (module.empty()) return "";  // no metadata, or an operation of the top-level module
    const std::string& op = n.op_type();
    if ((op == "Conv" || op == "Gemm" || op == "MatMul") && n.input_size() >= 2 && ends_with(n.input(1), ".weight"))
        module = n.input(1).substr(0, n.input(1).size() - 7);
    return module + "/" + op;
}

}  // namespace relprop
