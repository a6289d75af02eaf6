// A standalone activation (one that could not be fused into its producer).
#include "engine/plan.hpp"

namespace osprey {

void plan_activation(Plan& plan, const Node& node, int id) {
  const auto& a = node.get<Activation>();
  const dnnl::memory& src = plan.value(node.inputs[0]);
  const auto [alpha, beta] = eltwise_args(a);
  dnnl::eltwise_forward::desc desc(dnnl::prop_kind::forward_inference, eltwise_algorithm(a.kind), src.get_desc(), alpha, beta);
  dnnl::eltwise_forward::primitive_desc pd(desc, plan.engine());
  dnnl::memory dst = plan.new_memory(pd.dst_desc());
  plan.add_step(node.name, dnnl::eltwise_forward(pd), {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}}, "eltwise", pd.impl_info_str());
  plan.set_value(id, dst);
}

}  // namespace osprey
