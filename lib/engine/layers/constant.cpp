// A tensor known at load time, copied once into a plain buffer at plan time.
#include <cstring>

#include "engine/plan.hpp"

namespace osprey {

void plan_constant(Plan& plan, const Node& node, int id) {
  const Tensor& value = node.tensor("value");
  dnnl::memory mem = plan.persistent_memory(plain_desc(to_dims(value.shape)));
  std::memcpy(mem.get_data_handle(), value.data.data(), value.data.size() * sizeof(float));
  plan.set_value(id, mem);
}

}  // namespace osprey
