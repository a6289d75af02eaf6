// NumPy .npy files (format version 1.0/2.0): the exchange format for raw tensors with
// PyTorch-side scripts (parity references) and for `osprey-run`-style tools.
// Reads little-endian float32/float64 C-order arrays into float32; writes float32.
#pragma once

#include <string>

#include "core/tensor.hpp"

namespace osprey {

Tensor read_npy(const std::string& path);
void write_npy(const std::string& path, const Tensor& tensor);

}  // namespace osprey
