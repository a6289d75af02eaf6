// Softmax along one axis, computed on the plain layout.
#include "engine/plan.hpp"

namespace osprey {

void plan_softmax(Plan& plan, const Node& node, int id) {
  const dnnl::memory src = plan.to_plain(plan.value(node.inputs[0]), node.name);
  dnnl::softmax_forward::desc desc(dnnl::prop_kind::forward_inference, src.get_desc(), node.get<AxisParams>().axis);
  dnnl::softmax_forward::primitive_desc pd(desc, plan.engine());
  dnnl::memory dst = plan.new_memory(pd.dst_desc());
  plan.add_step(node.name, dnnl::softmax_forward(pd), {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}}, "softmax", pd.impl_info_str());
  plan.set_value(id, dst);
}

}  // namespace osprey
