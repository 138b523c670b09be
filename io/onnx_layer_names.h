/// @file
/// Layer names for nodes whose exporter gives them none a user would select by: the names `--rule` globs
/// and listings show. tf2onnx names a layer it made by fusing TensorFlow ops (Conv with its BatchNorm and
/// bias) `Conv__36`; its weight keeps the Keras path (`model/conv1/convolution/merged_input:0`), whose scope
/// (`model/conv1/convolution`) becomes the node's name. PyTorch's dynamo exporter
/// names nodes `node_Conv_293` but records the module path in the node's metadata
/// (`pkg.torch.onnx.name_scopes`: `['', 'layer1', 'layer1.0', 'layer1.0.relu', 'relu_1']`); the node
/// becomes `layer1.0.relu/Relu` — and a Conv or Gemm is named after its weight (`layer1.0.conv2.weight` →
/// `layer1.0.conv2/Conv`), since the exporter's BatchNorm folding leaves it the BatchNorm's scope.
#pragma once

#include <string>

#include <onnx/onnx_pb.h>

namespace relprop {

/// The Keras layer of a node tf2onnx fused, or "" when the node is not one.
std::string tf2onnx_layer_name(const onnx::NodeProto& node);
/// "<module>/<OpType>" for a node of a PyTorch dynamo export, or "" without usable metadata.
std::string torch_module_name(const onnx::NodeProto& node);

}  // namespace relprop
