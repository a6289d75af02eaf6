// Elementwise add, mul, sub, div, max, min with numpy broadcasting, and fused activations.
// oneDNN broadcasts only the second operand, so a broadcasting first operand is swapped
// to second place for commutative ops, and otherwise expanded to the full shape.
#include <functional>

#include "engine/plan.hpp"

namespace osprey {

using dnnl::memory;

namespace {

Shape left_padded(const Shape& s, size_t rank) {
  Shape out(rank - s.size(), 1);
  out.insert(out.end(), s.begin(), s.end());
  return out;
}

// Copies a plain tensor of shape `from` (already padded to the output rank) into a plain
// buffer of shape `to`, repeating along size-1 axes.
memory expand(Plan& plan, const memory& src, const Shape& from, const Shape& to, const std::string& layer) {
  memory dst = plan.new_memory(plain_desc(to_dims(to)));
  plan.add_custom_step(layer, "expand", {src, dst}, [src, dst, from, to]() {
    const float* s = static_cast<const float*>(src.get_data_handle());
    float* d = static_cast<float*>(dst.get_data_handle());
    const size_t rank = to.size();
    std::vector<int64_t> src_stride(rank, 0);
    int64_t stride = 1;
    for (size_t i = rank; i-- > 0;) {
      src_stride[i] = from[i] == 1 ? 0 : stride;
      stride *= from[i];
    }
    const int64_t total = element_count(to);
    std::vector<int64_t> index(rank, 0);
    for (int64_t k = 0; k < total; ++k) {
      int64_t offset = 0;
      for (size_t i = 0; i < rank; ++i) offset += index[i] * src_stride[i];
      d[k] = s[offset];
      for (size_t i = rank; i-- > 0;) {
        if (++index[i] < to[i]) break;
        index[i] = 0;
      }
    }
  });
  return dst;
}

}  // namespace

memory view_as(Plan& plan, const memory& src, const Shape& shape, const std::string& layer) {
  const memory plain = plan.to_plain(src, layer);
  return plan.alias(plain, plain_desc(to_dims(shape)));
}

void plan_binary(Plan& plan, const Node& node, int id) {
  const Shape& out = plan.shape(id);
  int a_id = node.inputs[0], b_id = node.inputs[1];
  const bool commutative = node.op == Op::Add || node.op == Op::Mul || node.op == Op::Max || node.op == Op::Min;
  if (commutative && plan.shape(a_id) != out && plan.shape(b_id) == out) std::swap(a_id, b_id);

  memory a = plan.value(a_id);
  const Shape a_shape = left_padded(plan.shape(a_id), out.size());
  if (a_shape != out) {
    a = expand(plan, view_as(plan, a, a_shape, node.name), a_shape, out, node.name);
  } else if (plan.shape(a_id).size() != out.size()) {
    a = view_as(plan, a, out, node.name);
  }

  memory b = plan.value(b_id);
  const Shape b_shape = left_padded(plan.shape(b_id), out.size());
  if (b_shape == out && plan.shape(b_id).size() == out.size()) {
    b = plan.to_layout(b, a.get_desc(), node.name);  // same shape: same layout
  } else {
    b = view_as(plan, b, b_shape, node.name);  // a broadcast operand goes plain
  }

  dnnl::algorithm alg = dnnl::algorithm::binary_add;
  switch (node.op) {
    case Op::Mul: alg = dnnl::algorithm::binary_mul; break;
    case Op::Sub: alg = dnnl::algorithm::binary_sub; break;
    case Op::Div: alg = dnnl::algorithm::binary_div; break;
    case Op::Max: alg = dnnl::algorithm::binary_max; break;
    case Op::Min: alg = dnnl::algorithm::binary_min; break;
    default: break;
  }
  dnnl::binary::desc desc(alg, a.get_desc(), b.get_desc(), a.get_desc());
  dnnl::binary::primitive_desc pd(desc, post_op_attr(node), plan.engine());
  memory dst = plan.new_memory(pd.dst_desc());
  plan.add_step(node.name, dnnl::binary(pd), {{DNNL_ARG_SRC_0, a}, {DNNL_ARG_SRC_1, b}, {DNNL_ARG_DST, dst}}, "binary",
                pd.impl_info_str());
  plan.set_value(id, dst);
}

}  // namespace osprey
