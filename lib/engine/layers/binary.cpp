// Elementwise add and mul; the second operand may broadcast (size-1 dims), e.g. a
// squeeze-excitation scale [N, C, 1, 1] times a feature map. Fused activations apply.
#include "engine/plan.hpp"

namespace osprey {

void plan_binary(Plan& plan, const Node& node, int id) {
  const dnnl::memory& a = plan.value(node.inputs[0]);
  dnnl::memory b = plan.value(node.inputs[1]);
  const bool same_dims = a.get_desc().dims() == b.get_desc().dims();
  // Same-shaped operands must share a layout; a broadcast operand goes plain.
  b = same_dims ? plan.to_layout(b, a.get_desc(), node.name) : plan.to_plain(b, node.name);
  const auto alg = node.op == Op::Add ? dnnl::algorithm::binary_add : dnnl::algorithm::binary_mul;
  dnnl::binary::desc desc(alg, a.get_desc(), b.get_desc(), a.get_desc());
  dnnl::binary::primitive_desc pd(desc, post_op_attr(node), plan.engine());
  dnnl::memory dst = plan.new_memory(pd.dst_desc());
  plan.add_step(node.name, dnnl::binary(pd), {{DNNL_ARG_SRC_0, a}, {DNNL_ARG_SRC_1, b}, {DNNL_ARG_DST, dst}}, "binary",
                pd.impl_info_str());
  plan.set_value(id, dst);
}

}  // namespace osprey
