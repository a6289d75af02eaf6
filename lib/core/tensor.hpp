// A dense float32 tensor in plain row-major (NCHW for images) layout. This is the
// exchange format at the edges of the engine: weights, inputs and outputs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace osprey {

using Shape = std::vector<int64_t>;

int64_t element_count(const Shape& shape);
std::string to_string(const Shape& shape);  // "[1, 3, 224, 224]"

struct Tensor {
  Shape shape;
  std::vector<float> data;

  Tensor() = default;
  explicit Tensor(Shape s) : shape(std::move(s)), data(static_cast<size_t>(element_count(shape)), 0.0f) {}
  Tensor(Shape s, std::vector<float> d) : shape(std::move(s)), data(std::move(d)) {}

  int64_t size() const { return static_cast<int64_t>(data.size()); }
  bool empty() const { return data.empty(); }
};

}  // namespace osprey
