// Matrix product of two run-time tensors (attention-style graphs): oneDNN matmul on plain
// layouts, batch axes broadcast after padding both operands to the output's rank.
#include "engine/plan.hpp"

namespace osprey {

void plan_matmul(Plan& plan, const Node& node, int id) {
  const Shape& out = plan.shape(id);
  auto padded = [&](int value) {
    Shape s = plan.shape(value);
    s.insert(s.begin(), out.size() - s.size(), 1);
    return view_as(plan, plan.value(value), s, node.name);
  };
  const dnnl::memory a = padded(node.inputs[0]), b = padded(node.inputs[1]);
  dnnl::matmul::desc desc(a.get_desc(), b.get_desc(), plain_desc(to_dims(out)));
  dnnl::matmul::primitive_desc pd(desc, post_op_attr(node), plan.engine());
  dnnl::memory dst = plan.new_memory(pd.dst_desc());
  plan.add_step(node.name, dnnl::matmul(pd), {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, dst}}, "matmul",
                pd.impl_info_str());
  plan.set_value(id, dst);
}

}  // namespace osprey
