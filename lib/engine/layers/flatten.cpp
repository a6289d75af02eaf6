// torch.flatten(x, 1) and Reshape: the plain (row-major) buffer viewed with the new shape.
#include "engine/plan.hpp"

namespace osprey {

void plan_flatten(Plan& plan, const Node& node, int id) {
  plan.set_value(id, view_as(plan, plan.value(node.inputs[0]), plan.shape(id), node.name));
}

}  // namespace osprey
