// Axis permutation: one reorder from the source described with permuted axes into a
// plain destination (output axis i = input axis perm[i]).
#include "engine/plan.hpp"

namespace osprey {

void plan_transpose(Plan& plan, const Node& node, int id) {
  const auto& perm = node.get<TransposeParams>().perm;
  const dnnl::memory src = plan.to_plain(plan.value(node.inputs[0]), node.name);
  // oneDNN's permute_axes moves input axis i to output axis p[i]: the inverse of perm.
  std::vector<int> inverse(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) inverse[perm[i]] = static_cast<int>(i);
  const dnnl::memory permuted = plan.alias(src, src.get_desc().permute_axes(inverse));
  dnnl::memory dst = plan.new_memory(plain_desc(to_dims(plan.shape(id))));
  plan.add_step(node.name, dnnl::reorder(permuted, dst), {{DNNL_ARG_FROM, permuted}, {DNNL_ARG_TO, dst}}, "transpose", "reorder");
  plan.set_value(id, dst);
}

}  // namespace osprey
