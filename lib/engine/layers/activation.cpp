// A standalone activation (one that could not be fused into its producer): the first
// eltwise operation is the primitive, any further ones are its post-ops.
#include "engine/plan.hpp"

namespace osprey {

void plan_activation(Plan& plan, const Node& node, int id) {
  const auto ops = eltwise_ops(node.get<Activation>());
  const dnnl::memory& src = plan.value(node.inputs[0]);
  dnnl::eltwise_forward::desc desc(dnnl::prop_kind::forward_inference, ops[0].alg, src.get_desc(), ops[0].alpha, ops[0].beta);
  dnnl::primitive_attr attr;
  if (ops.size() > 1) {
    dnnl::post_ops post;
    for (size_t i = 1; i < ops.size(); ++i) post.append_eltwise(1.0f, ops[i].alg, ops[i].alpha, ops[i].beta);
    attr.set_post_ops(post);
  }
  dnnl::eltwise_forward::primitive_desc pd(desc, attr, plan.engine());
  dnnl::memory dst = plan.new_memory(pd.dst_desc());
  plan.add_step(node.name, dnnl::eltwise_forward(pd), {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}}, "eltwise", pd.impl_info_str());
  plan.set_value(id, dst);
}

}  // namespace osprey
