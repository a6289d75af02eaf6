// torch.flatten(x, 1): the plain (row-major) buffer viewed as [N, features].
#include "engine/plan.hpp"

namespace osprey {

void plan_flatten(Plan& plan, const Node& node, int id) {
  const dnnl::memory plain = plan.to_plain(plan.value(node.inputs[0]), node.name);
  const auto md = plain_desc(to_dims(plan.shape(id)));
  plan.set_value(id, dnnl::memory(md, plan.engine(), plain.get_data_handle()));
}

}  // namespace osprey
