// Concatenation along an axis (Inception's branch merge). Inputs keep their layouts;
// oneDNN picks the output layout.
#include "engine/plan.hpp"

namespace osprey {

void plan_concat(Plan& plan, const Node& node, int id) {
  std::vector<dnnl::memory::desc> mds;
  std::unordered_map<int, dnnl::memory> args;
  for (size_t i = 0; i < node.inputs.size(); ++i) {
    const dnnl::memory& src = plan.value(node.inputs[i]);
    mds.push_back(src.get_desc());
    args[DNNL_ARG_MULTIPLE_SRC + static_cast<int>(i)] = src;
  }
  dnnl::concat::primitive_desc pd(node.get<AxisParams>().axis, mds, plan.engine());
  dnnl::memory dst = plan.new_memory(pd.dst_desc());
  args[DNNL_ARG_DST] = dst;
  plan.add_step(node.name, dnnl::concat(pd), std::move(args), "concat", pd.impl_info_str());
  plan.set_value(id, dst);
}

}  // namespace osprey
