// Padding of any axis: constant value, reflect (mirror without the edge) or edge
// (repeat the edge), as ONNX Pad; negative pads crop. A C++ kernel on plain layout.
#include "engine/plan.hpp"

namespace osprey {

void plan_pad(Plan& plan, const Node& node, int id) {
  const auto& p = node.get<PadParams>();
  const dnnl::memory src = plan.to_plain(plan.value(node.inputs[0]), node.name);
  dnnl::memory dst = plan.new_memory(plain_desc(to_dims(plan.shape(id))));
  const Shape in = plan.shape(node.inputs[0]), out = plan.shape(id);
  plan.add_custom_step(node.name, "pad", {src, dst}, [src, dst, in, out, p]() {
    const float* s = static_cast<const float*>(src.get_data_handle());
    float* d = static_cast<float*>(dst.get_data_handle());
    const size_t rank = in.size();
    std::vector<int64_t> in_stride(rank, 1);
    for (size_t i = rank - 1; i-- > 0;) in_stride[i] = in_stride[i + 1] * in[i + 1];
    // Source coordinate along one axis for output coordinate o, or -1 for the constant.
    auto source = [&](size_t axis, int64_t o) -> int64_t {
      int64_t x = o - p.begin[axis];
      const int64_t n = in[axis];
      if (x >= 0 && x < n) return x;
      if (p.mode == PadParams::Constant) return -1;
      if (p.mode == PadParams::Edge) return x < 0 ? 0 : n - 1;
      if (n == 1) return 0;
      const int64_t period = 2 * (n - 1);  // reflect: ... 2 1 0 1 2 ... n-2 n-1 n-2 ...
      x = ((x % period) + period) % period;
      return x < n ? x : period - x;
    };
    std::vector<int64_t> index(rank, 0);
    const int64_t total = element_count(out);
    for (int64_t k = 0; k < total; ++k) {
      int64_t offset = 0;
      bool inside = true;
      for (size_t i = 0; i < rank && inside; ++i) {
        const int64_t x = source(i, index[i]);
        inside = x >= 0;
        offset += x * in_stride[i];
      }
      d[k] = inside ? s[offset] : p.value;
      for (size_t i = rank; i-- > 0;) {
        if (++index[i] < out[i]) break;
        index[i] = 0;
      }
    }
  });
  plan.set_value(id, dst);
}

}  // namespace osprey
