#include "model/onnx/const_tensor.hpp"

#include <cmath>

#include "core/error.hpp"
#include "engine/shapes.hpp"

namespace osprey {

ConstTensor ConstTensor::of_ints(Shape shape, std::vector<int64_t> values) {
  ConstTensor t;
  t.shape = std::move(shape);
  t.integer = true;
  t.ints = std::move(values);
  return t;
}

ConstTensor ConstTensor::of_floats(Shape shape, std::vector<float> values) {
  ConstTensor t;
  t.shape = std::move(shape);
  t.floats = std::move(values);
  return t;
}

std::vector<int64_t> ConstTensor::as_ints() const {
  if (integer) return ints;
  std::vector<int64_t> out;
  for (float f : floats) out.push_back(static_cast<int64_t>(f));
  return out;
}

Tensor ConstTensor::as_tensor() const {
  if (!integer) return Tensor(shape, floats);
  std::vector<float> f;
  for (int64_t v : ints) f.push_back(static_cast<float>(v));
  return Tensor(shape, std::move(f));
}

void check_foldable(const Shape& shape) {
  constexpr int64_t kMaxElements = int64_t{1} << 31;
  int64_t count = 1;
  for (int64_t d : shape) {
    if (d < 0) throw ModelError(cat("negative dimension in the shape ", to_string(shape)));
    if (d > 0 && count > kMaxElements / d) throw ModelError(cat("the shape ", to_string(shape), " has more than 2^31 elements"));
    count *= d;
  }
}

namespace {

// Element k of `out` (row-major) read from a broadcast source of shape `from` (left-padded).
std::vector<int64_t> broadcast_index(const Shape& from, const Shape& out) {
  check_foldable(out);
  const size_t rank = out.size();
  Shape padded(rank - from.size(), 1);
  padded.insert(padded.end(), from.begin(), from.end());
  std::vector<int64_t> stride(rank, 0);
  int64_t s = 1;
  for (size_t i = rank; i-- > 0;) {
    stride[i] = padded[i] == 1 ? 0 : s;
    s *= padded[i];
  }
  std::vector<int64_t> map(static_cast<size_t>(element_count(out)));
  std::vector<int64_t> index(rank, 0);
  for (size_t k = 0; k < map.size(); ++k) {
    int64_t offset = 0;
    for (size_t i = 0; i < rank; ++i) offset += index[i] * stride[i];
    map[k] = offset;
    for (size_t i = rank; i-- > 0;) {
      if (++index[i] < out[i]) break;
      index[i] = 0;
    }
  }
  return map;
}

ConstTensor make(const Shape& shape, bool integer, const std::vector<double>& v) {
  if (integer) {
    std::vector<int64_t> i(v.size());
    for (size_t k = 0; k < v.size(); ++k) i[k] = static_cast<int64_t>(v[k]);
    return ConstTensor::of_ints(shape, std::move(i));
  }
  return ConstTensor::of_floats(shape, std::vector<float>(v.begin(), v.end()));
}

}  // namespace

ConstTensor fold_binary(ConstBinary op, const ConstTensor& a, const ConstTensor& b) {
  const Shape out = broadcast_shapes(a.shape, b.shape);
  const auto ia = broadcast_index(a.shape, out), ib = broadcast_index(b.shape, out);
  const bool integer = a.integer && b.integer;
  const bool logical = op == ConstBinary::Equal || op == ConstBinary::Less || op == ConstBinary::Greater;
  std::vector<double> v(ia.size());
  for (size_t k = 0; k < v.size(); ++k) {
    const double x = a.at(ia[k]), y = b.at(ib[k]);
    switch (op) {
      case ConstBinary::Add: v[k] = x + y; break;
      case ConstBinary::Sub: v[k] = x - y; break;
      case ConstBinary::Mul: v[k] = x * y; break;
      case ConstBinary::Div:
        if (integer && y == 0) throw ModelError("integer division by zero in a constant subgraph");
        v[k] = integer ? std::trunc(x / y) : static_cast<double>(static_cast<float>(x) / static_cast<float>(y));
        break;
      case ConstBinary::Max: v[k] = std::max(x, y); break;
      case ConstBinary::Min: v[k] = std::min(x, y); break;
      case ConstBinary::Equal: v[k] = x == y; break;
      case ConstBinary::Less: v[k] = x < y; break;
      case ConstBinary::Greater: v[k] = x > y; break;
      case ConstBinary::Pow: v[k] = std::pow(x, y); break;
    }
  }
  return make(out, integer || logical, v);
}

ConstTensor fold_transpose(const ConstTensor& x, const std::vector<int>& perm) {
  const size_t rank = x.shape.size();
  if (perm.size() != rank) throw ModelError("transpose permutation does not match the rank");
  Shape out(rank);
  std::vector<int64_t> in_stride(rank, 1);
  for (size_t i = rank; i-- > 1;) in_stride[i - 1] = in_stride[i] * x.shape[i];
  for (size_t i = 0; i < rank; ++i) out[i] = x.shape[perm[i]];
  std::vector<double> v(static_cast<size_t>(x.size()));
  std::vector<int64_t> index(rank, 0);
  for (size_t k = 0; k < v.size(); ++k) {
    int64_t offset = 0;
    for (size_t i = 0; i < rank; ++i) offset += index[i] * in_stride[perm[i]];
    v[k] = x.at(offset);
    for (size_t i = rank; i-- > 0;) {
      if (++index[i] < out[i]) break;
      index[i] = 0;
    }
  }
  return make(out, x.integer, v);
}

ConstTensor fold_gather(const ConstTensor& data, const ConstTensor& indices, int axis) {
  const Shape& ds = data.shape;
  Shape out(ds.begin(), ds.begin() + axis);
  out.insert(out.end(), indices.shape.begin(), indices.shape.end());
  out.insert(out.end(), ds.begin() + axis + 1, ds.end());
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < axis; ++i) outer *= ds[i];
  for (size_t i = axis + 1; i < ds.size(); ++i) inner *= ds[i];
  const int64_t n = ds[axis];
  std::vector<double> v;
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t k = 0; k < indices.size(); ++k) {
      int64_t idx = static_cast<int64_t>(indices.at(k));
      if (idx < 0) idx += n;
      if (idx < 0 || idx >= n) throw ModelError(cat("gather index ", indices.at(k), " is out of range for axis of size ", n));
      for (int64_t i = 0; i < inner; ++i) v.push_back(data.at((o * n + idx) * inner + i));
    }
  return make(out, data.integer, v);
}

ConstTensor fold_concat(const std::vector<const ConstTensor*>& parts, int axis) {
  Shape out = parts.at(0)->shape;
  out[axis] = 0;
  bool integer = true;
  for (const auto* p : parts) {
    out[axis] += p->shape[axis];
    integer &= p->integer;
  }
  int64_t outer = 1;
  for (int i = 0; i < axis; ++i) outer *= out[i];
  std::vector<double> v;
  for (int64_t o = 0; o < outer; ++o)
    for (const auto* p : parts) {
      const int64_t chunk = p->size() / std::max<int64_t>(outer, 1);
      for (int64_t k = 0; k < chunk; ++k) v.push_back(p->at(o * chunk + k));
    }
  return make(out, integer, v);
}

ConstTensor fold_slice(const ConstTensor& x, const std::vector<int64_t>& starts, const std::vector<int64_t>& steps, const Shape& out) {
  const size_t rank = x.shape.size();
  std::vector<int64_t> in_stride(rank, 1);
  for (size_t i = rank; i-- > 1;) in_stride[i - 1] = in_stride[i] * x.shape[i];
  std::vector<double> v(static_cast<size_t>(element_count(out)));
  std::vector<int64_t> index(rank, 0);
  for (size_t k = 0; k < v.size(); ++k) {
    int64_t offset = 0;
    for (size_t i = 0; i < rank; ++i) offset += (starts[i] + index[i] * steps[i]) * in_stride[i];
    v[k] = x.at(offset);
    for (size_t i = rank; i-- > 0;) {
      if (++index[i] < out[i]) break;
      index[i] = 0;
    }
  }
  return make(out, x.integer, v);
}

ConstTensor fold_where(const ConstTensor& cond, const ConstTensor& a, const ConstTensor& b) {
  const Shape out = broadcast_shapes(broadcast_shapes(cond.shape, a.shape), b.shape);
  const auto ic = broadcast_index(cond.shape, out), ia = broadcast_index(a.shape, out), ib = broadcast_index(b.shape, out);
  std::vector<double> v(ic.size());
  for (size_t k = 0; k < v.size(); ++k) v[k] = cond.at(ic[k]) != 0 ? a.at(ia[k]) : b.at(ib[k]);
  return make(out, a.integer && b.integer, v);
}

ConstTensor fold_expand(const ConstTensor& x, const Shape& shape) {
  const Shape out = broadcast_shapes(x.shape, shape);
  const auto ix = broadcast_index(x.shape, out);
  std::vector<double> v(ix.size());
  for (size_t k = 0; k < v.size(); ++k) v[k] = x.at(ix[k]);
  return make(out, x.integer, v);
}

ConstTensor reshaped(ConstTensor x, Shape shape) {
  if (element_count(shape) != x.size()) throw ModelError(cat("cannot reshape ", to_string(x.shape), " to ", to_string(shape)));
  x.shape = std::move(shape);
  return x;
}

}  // namespace osprey
