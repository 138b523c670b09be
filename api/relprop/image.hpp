/// @file
/// Images in and out of the engine: load PNG/JPEG/BMP/... (stb_image), convert to the model's channels,
/// preprocess like torchvision's ImageNet pipeline (Resize(int) on a PIL image, CenterCrop, Normalize)
/// into a float32 [C, H, W] tensor, and undo the normalization for overlays.
///
/// Resizing follows PIL's BILINEAR resampling (what torchvision's Resize uses on PIL images): a separable
/// triangle filter whose support widens by the scale factor when downscaling (antialiasing), 22-bit
/// fixed-point weights, horizontal pass first with the intermediate rounded to 8 bits, then the vertical
/// pass. Measured against Pillow 9.4's Image.resize(BILINEAR) on random and smooth images, RGB and L,
/// 10 size pairs (up and down, e.g. 300x200 -> 384x256, 1920x1080 -> 455x256, 8x8 -> 3x5): identical
/// in all 5.3 million samples (max |difference| 0 intensity levels). The promise is "within 1 level",
/// since PIL's internals may change between versions. The RGB -> gray conversion is PIL's 'L' formula,
/// also identical.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "tensor.hpp"

namespace relprop {

/// 8-bit pixels, HWC order (row-major, channels interleaved): pixels[(y * width + x) * channels + c].
/// channels: 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA.
struct Image {
    int width = 0, height = 0, channels = 0;
    std::vector<uint8_t> pixels;
};

inline constexpr int64_t kImageDefaultMaxPixels = int64_t(1) << 26;

/// Loads PNG, JPEG and BMP files (stb_image; its other formats are refused: their decoders have the
/// most known memory-safety bugs). 16-bit PNGs are loaded as 8-bit. The path must be a regular file;
/// the header is read first and an image with more than `max_pixels` pixels is refused before
/// anything is decoded. Errors (relprop::Error) name the file: missing, a directory, not a readable
/// image (with stb's reason), or too large.
Image load_image(const std::string& path, int64_t max_pixels = kImageDefaultMaxPixels);
/// The same from a file's bytes in memory; `source` names them in messages. Only PNG, JPEG and BMP
/// (recognized by their first bytes) are decoded; anything else is refused before stb_image sees it.
Image decode_image(const std::string& bytes, const std::string& source, int64_t max_pixels = kImageDefaultMaxPixels);

/// torchvision-style preprocessing. enabled = false: no resize, no crop, no normalization; only
/// pixel * scale.
struct Preprocess {
    bool enabled = true;
    int resize = 256;  ///< shorter side after resizing (aspect ratio kept); 0: no resize
    int crop = 224;    ///< center crop crop x crop; 0: no crop
    std::vector<float> mean{0.485f, 0.456f, 0.406f};  ///< 1 value or one per channel
    std::vector<float> std{0.229f, 0.224f, 0.225f};   ///< 1 value or one per channel
    float scale = 1.0f / 255.0f;
    bool bgr = false;  ///< 3 channels in B, G, R order (Keras' "caffe" mode); mean/std are in that order
};

/// The preprocessing a model family was trained with (resize 256 and crop 224 in each):
///   "torch"       pixel/255, minus ImageNet's mean (0.485, 0.456, 0.406), divided by its std (0.229, 0.224,
///                 0.225), RGB — torchvision's models, Keras' DenseNet121 (`mode="torch"`);
///   "keras-caffe" RGB → BGR, minus (103.939, 116.779, 123.68), no scaling — Keras' VGG16, VGG19, ResNet50;
///   "keras-tf"    pixel/127.5 − 1 (scale 1/255, mean 0.5, std 0.5) — Keras' MobileNet(V2), Inception, Xception;
///   "none"        the pixel values 0..255 as they are (models that rescale inside, e.g. EfficientNet in Keras).
/// An unknown name is an Error listing these.
Preprocess preprocess_preset(const std::string& name);

/// Where an image model's input keeps its channels: NCHW (PyTorch, tf2onnx with --inputs-as-nchw) or NHWC
/// (Keras/TensorFlow exported as they come).
enum class ImageLayout { NCHW, NHWC };
/// NHWC for a rank-4 input [N, H, W, C] with C = 1 or 3 on the last axis and neither on axis 1; else NCHW.
ImageLayout image_layout(const Shape& model_input);
const char* layout_name(ImageLayout layout);
/// The channel count of a rank-4 image model input in its layout.
int64_t image_channels(const Shape& model_input);
/// [.., C, H, W] → [.., H, W, C] (rank 3 or 4), and back.
Tensor to_channels_last(const Tensor& t);
Tensor to_channels_first(const Tensor& t);

/// Converts an image to `channels` channels: same count -> unchanged; 1 <- RGB(A) by PIL's 'L'
/// luminance (0.299 R + 0.587 G + 0.114 B, in PIL's fixed point, rounded); 3 <- gray(+alpha)
/// replicated; alpha dropped (1 <- gray+alpha, 3 <- RGBA). Anything else is an Error.
Image convert_channels(const Image& img, int64_t channels);

/// PIL-compatible bilinear resize (antialiased when downscaling) to out_width x out_height.
Image resize_bilinear(const Image& img, int out_width, int out_height);

/// The size torchvision's Resize(int) gives: the shorter side becomes `size`, the longer side
/// int(size * long / short). Returns {width, height}. A result of more than kImageDefaultMaxPixels
/// pixels (an extreme aspect ratio) is an Error.
std::pair<int, int> resized_size(int width, int height, int size);

/// torchvision's CenterCrop offsets: top = int(round((height - crop) / 2.0)) with Python's
/// round-half-to-even, same for left. Returns {left, top}. crop larger than the image is an Error.
std::pair<int, int> center_crop_offsets(int width, int height, int crop);

/// Cuts the rectangle [left, left + w) x [top, top + h) out of an image.
Image crop_image(const Image& img, int left, int top, int w, int h);

/// float32 [channels, H, W] (one sample, no batch dimension): channel conversion, then (if
/// p.enabled) resize + center crop + normalize x = (pixel * scale - mean[c]) / std[c].
Tensor image_to_tensor(const Image& img, int64_t channels, const Preprocess& p);

/// The normalized values of pixel 0 and pixel 255 per channel (the box of the ZBox rule):
/// (0 * scale - mean[c]) / std[c] and (255 * scale - mean[c]) / std[c]; without normalization
/// (p.enabled = false) 0 and 255 * scale.
std::vector<float> input_bounds_low(const Preprocess& p, int64_t channels);
std::vector<float> input_bounds_high(const Preprocess& p, int64_t channels);

/// Undoes image_to_tensor's normalization: [C, H, W] or [1, C, H, W] with C = 1 or 3 -> 8-bit image
/// (rounded, clipped to 0..255).
Image tensor_to_image(const Tensor& chw_normalized, const Preprocess& p);

}  // namespace relprop
