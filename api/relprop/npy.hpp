/// @file
/// NumPy .npy files: read any float or integer array numpy writes into a float32 Tensor, and write a
/// Tensor the way numpy does (byte for byte what np.save writes for a C-order '<f4' array).
///
/// Reading accepts format versions 1.0, 2.0 and 3.0 and these dtypes, each converted to float32:
///   floats    '<f2' '>f2' '<f4' '>f4' '<f8' '>f8'   (float16 converts exactly, subnormals included;
///                                        a finite float64 beyond the float32 range is an Error;
///                                        inf and NaN stored in the file are kept as they are)
///   integers  '<i2' '<i4' '<i8' '<u2' '<u4' '<u8' (and their '>' forms), '|i1' '|u1'
///             (large int64 values round to the nearest float32)
///   booleans  '|b1' (0 or 1)
/// fortran_order True is accepted: the data is reordered into C order (row-major), so the Tensor
/// always has numpy's logical shape and indexing.
/// A 0-d array (shape ()) becomes a rank-0 Tensor: shape {} with one element.
///
/// Hostile input is refused with a relprop::Error that names the file, before anything large is
/// allocated: the header is parsed by a strict parser (a Python dict literal with exactly the keys
/// 'descr', 'fortran_order' and 'shape', in any order), the element count must not exceed
/// `max_elements`, and the data must be exactly numel * itemsize bytes (no truncation, no trailing
/// bytes). Non-finite values are not an error here; callers that care use engine/finite.h.
#pragma once

#include <cstdint>
#include <string>

#include "tensor.hpp"

namespace relprop {

inline constexpr int64_t kNpyDefaultMaxElements = int64_t(1) << 31;

/// Reads a regular file; a missing path, a directory or an unreadable file is an Error naming it.
Tensor read_npy(const std::string& path, int64_t max_elements = kNpyDefaultMaxElements);
/// Parses the bytes of a .npy file; `source_name` is what error messages call it.
Tensor parse_npy(const std::string& bytes, const std::string& source_name,
                 int64_t max_elements = kNpyDefaultMaxElements);

/// The .npy bytes numpy 1.x writes for this tensor: version 1.0 (2.0 only if the header would not
/// fit, as numpy does), '<f4', C order, header padded with spaces so the data starts at a multiple
/// of 64 bytes. The tensor must be defined and on the CPU.
std::string serialize_npy(const Tensor& t);
/// Writes serialize_npy(t) to `path` all or nothing (io/file_write.h: temporary file, fsync, rename);
/// failure is an Error naming the path and the system's reason, and leaves no file at `path`.
void write_npy(const std::string& path, const Tensor& t);

}  // namespace relprop
