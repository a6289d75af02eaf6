// A standalone activation (one that could not be fused into its producer): one eltwise
// primitive per oneDNN operation (hardsigmoid takes two), the later ones in place. Chained
// primitives rather than eltwise post-ops: oneDNN 2.6 computed garbage for post-ops on a
// 3-element 1-D tensor (ONNX test_hardsigmoid_example).
#include "engine/plan.hpp"

namespace osprey {

void plan_activation(Plan& plan, const Node& node, int id) {
  dnnl::memory src = plan.value(node.inputs[0]);
  dnnl::memory dst;
  for (const auto& op : eltwise_ops(node.get<Activation>())) {
    dnnl::eltwise_forward::desc desc(dnnl::prop_kind::forward_inference, op.alg, src.get_desc(), op.alpha, op.beta);
    dnnl::eltwise_forward::primitive_desc pd(desc, plan.engine());
    if (!dst) dst = plan.new_memory(pd.dst_desc());
    plan.add_step(node.name, dnnl::eltwise_forward(pd), {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}}, "eltwise", pd.impl_info_str());
    src = dst;
  }
  plan.set_value(id, dst);
}

}  // namespace osprey
