// Tensors known at import time: ONNX initializers, Constant nodes, and everything computed
// from them alone (shape arithmetic such as Shape -> Gather -> Concat -> Reshape). The
// importer folds such subgraphs, so exported graphs become plain layer graphs.
#pragma once

#include <cstdint>
#include <vector>

#include "core/tensor.hpp"

namespace osprey {

struct ConstTensor {
  Shape shape;
  bool integer = false;        // int64/int32/bool data (shape arithmetic); else float
  std::vector<float> floats;   // when !integer
  std::vector<int64_t> ints;   // when integer

  static ConstTensor of_ints(Shape shape, std::vector<int64_t> values);
  static ConstTensor of_floats(Shape shape, std::vector<float> values);

  int64_t size() const { return element_count(shape); }
  double at(int64_t k) const { return integer ? static_cast<double>(ints[k]) : static_cast<double>(floats[k]); }
  std::vector<int64_t> as_ints() const;
  Tensor as_tensor() const;  // float copy
};

// Folded tensors are computed in memory at import: a shape of more than 2^31 elements (or
// with a negative dimension) is refused with a ModelError before anything is allocated.
void check_foldable(const Shape& shape);

// Folding kernels (numpy semantics; integer results when both inputs are integer).
enum class ConstBinary { Add, Sub, Mul, Div, Max, Min, Equal, Less, Greater, Pow };
ConstTensor fold_binary(ConstBinary op, const ConstTensor& a, const ConstTensor& b);
ConstTensor fold_transpose(const ConstTensor& x, const std::vector<int>& perm);
ConstTensor fold_gather(const ConstTensor& data, const ConstTensor& indices, int axis);
ConstTensor fold_concat(const std::vector<const ConstTensor*>& parts, int axis);
// starts/steps per axis, already clamped; out = resulting shape
ConstTensor fold_slice(const ConstTensor& x, const std::vector<int64_t>& starts, const std::vector<int64_t>& steps, const Shape& out);
ConstTensor fold_where(const ConstTensor& cond, const ConstTensor& a, const ConstTensor& b);
ConstTensor fold_expand(const ConstTensor& x, const Shape& shape);
ConstTensor reshaped(ConstTensor x, Shape shape);

}  // namespace osprey
