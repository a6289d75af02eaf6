// Local response normalisation across channels (AlexNet): b = a / (k + alpha/n * sum a^2)^beta
// over a window of n channels, as torch's LocalResponseNorm (odd n: centred window).
#include "core/error.hpp"
#include "engine/plan.hpp"

namespace osprey {

void plan_lrn(Plan& plan, const Node& node, int id) {
  const auto& p = node.get<LRNParams>();
  if (p.size % 2 == 0)
    throw ModelError(cat("layer '", node.name, "': LRN size ", p.size, " is even; only odd (centred) windows are supported"));
  const dnnl::memory& src = plan.value(node.inputs[0]);
  dnnl::lrn_forward::desc desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::lrn_across_channels, src.get_desc(),
                               p.size, p.alpha, p.beta, p.k);
  dnnl::lrn_forward::primitive_desc pd(desc, plan.engine());
  dnnl::memory dst = plan.new_memory(pd.dst_desc());
  plan.add_step(node.name, dnnl::lrn_forward(pd), {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}}, "lrn", pd.impl_info_str());
  plan.set_value(id, dst);
}

}  // namespace osprey
