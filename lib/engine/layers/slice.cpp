// Strided slices. Unit steps: a reorder from a sub-memory of the plain source. Other
// steps (negative ones reverse an axis): a C++ gather.
#include "engine/plan.hpp"

namespace osprey {

using dnnl::memory;

void plan_slice(Plan& plan, const Node& node, int id) {
  const auto& p = node.get<SliceParams>();
  const Shape out = plan.shape(id);  // p.out with sizes resolved for this input shape
  const memory src = plan.to_plain(plan.value(node.inputs[0]), node.name);
  memory dst = plan.new_memory(plain_desc(to_dims(out)));
  bool unit_steps = true;
  for (auto s : p.steps) unit_steps &= s == 1;
  if (element_count(out) == 0) {
    plan.set_value(id, dst);
    return;
  }
  if (unit_steps) {
    const memory window = plan.alias(src, src.get_desc().submemory_desc(to_dims(out), memory::dims(p.starts.begin(), p.starts.end())));
    plan.add_step(node.name, dnnl::reorder(window, dst), {{DNNL_ARG_FROM, window}, {DNNL_ARG_TO, dst}}, "slice", "reorder");
  } else {
    const Shape in = plan.shape(node.inputs[0]);
    plan.add_custom_step(node.name, "slice", {src, dst}, [src, dst, in, out, p]() {
      const float* s = static_cast<const float*>(src.get_data_handle());
      float* d = static_cast<float*>(dst.get_data_handle());
      const size_t rank = in.size();
      std::vector<int64_t> in_stride(rank, 1);
      for (size_t i = rank - 1; i-- > 0;) in_stride[i] = in_stride[i + 1] * in[i + 1];
      std::vector<int64_t> index(rank, 0);
      const int64_t total = element_count(out);
      for (int64_t k = 0; k < total; ++k) {
        int64_t offset = 0;
        for (size_t i = 0; i < rank; ++i) offset += (p.starts[i] + index[i] * p.steps[i]) * in_stride[i];
        d[k] = s[offset];
        for (size_t i = rank; i-- > 0;) {
          if (++index[i] < out[i]) break;
          index[i] = 0;
        }
      }
    });
  }
  plan.set_value(id, dst);
}

}  // namespace osprey
