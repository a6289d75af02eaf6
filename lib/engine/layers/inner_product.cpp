// Fully connected layer (torch Linear: y = x W^T + b) on a [N, features] input, with
// fused activations.
#include "engine/plan.hpp"

namespace osprey {

using dnnl::memory;

void plan_inner_product(Plan& plan, const Node& node, int id) {
  const auto& p = node.get<InnerProductParams>();
  const Shape& in = plan.shape(node.inputs[0]);
  const memory::dims wdims{p.out_features, in[1]};
  const memory::dims bdims{p.out_features};
  const memory& src = plan.value(node.inputs[0]);
  auto desc = p.bias ? dnnl::inner_product_forward::desc(dnnl::prop_kind::forward_inference, src.get_desc(), any_desc(wdims),
                                                         any_desc(bdims), any_desc(to_dims(plan.shape(id))))
                     : dnnl::inner_product_forward::desc(dnnl::prop_kind::forward_inference, src.get_desc(), any_desc(wdims),
                                                         any_desc(to_dims(plan.shape(id))));
  dnnl::inner_product_forward::primitive_desc pd(desc, post_op_attr(node), plan.engine());
  std::unordered_map<int, memory> args;
  args[DNNL_ARG_SRC] = plan.to_layout(src, pd.src_desc(), node.name);
  args[DNNL_ARG_WEIGHTS] = plan.weights(node.tensor("weight"), wdims, pd.weights_desc());
  if (p.bias) args[DNNL_ARG_BIAS] = plan.weights(node.tensor("bias"), bdims, pd.bias_desc());
  memory dst = plan.new_memory(pd.dst_desc());
  args[DNNL_ARG_DST] = dst;
  plan.add_step(node.name, dnnl::inner_product_forward(pd), std::move(args), "inner_product", pd.impl_info_str());
  plan.set_value(id, dst);
}

}  // namespace osprey
