// L2 normalisation across channels with a learned per-channel scale (Liu et al., "ParseNet",
// 2015; SSD's conv4_3): y[n, c, p] = weight[c] * (x[n, c, p] / max(||x[n, :, p]||_2, eps)),
// as torchvision's SSDFeatureExtractorVGG computes scale_weight * F.normalize(x, dim=1).
// A C++ kernel on the plain layout: oneDNN has no such primitive (its LRN is windowed and
// uses powers, not a norm over all channels).
#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/plan.hpp"

namespace osprey {

void plan_l2_norm(Plan& plan, const Node& node, int id) {
  const float eps = node.get<L2NormParams>().eps;
  const Shape in = plan.shape(node.inputs[0]);
  const int64_t batch = in[0], channels = in[1];
  const int64_t pixels = element_count(in) / std::max<int64_t>(batch * channels, 1);
  const std::vector<float> weight = node.tensor("weight").data;
  const dnnl::memory src = plan.to_plain(plan.value(node.inputs[0]), node.name);
  dnnl::memory dst = plan.new_memory(plain_desc(to_dims(in)));
  plan.add_custom_step(node.name, "l2_norm", {src, dst}, [=]() {
    const float* s = static_cast<const float*>(src.get_data_handle());
    float* d = static_cast<float*>(dst.get_data_handle());
    for (int64_t n = 0; n < batch; ++n) {
      const float* x = s + n * channels * pixels;
      float* y = d + n * channels * pixels;
      // Sums of squares per pixel, channel by channel so the inner loop runs over
      // contiguous pixels; double keeps the sum exact to float precision.
      std::vector<double> sum(static_cast<size_t>(pixels), 0.0);
      for (int64_t c = 0; c < channels; ++c) {
        const float* xc = x + c * pixels;
        for (int64_t p = 0; p < pixels; ++p) sum[p] += static_cast<double>(xc[p]) * xc[p];
      }
      std::vector<float> denom(static_cast<size_t>(pixels));
      for (int64_t p = 0; p < pixels; ++p) denom[p] = std::max(static_cast<float>(std::sqrt(sum[p])), eps);
#pragma omp parallel for
      for (int64_t c = 0; c < channels; ++c) {
        const float* xc = x + c * pixels;
        float* yc = y + c * pixels;
        const float w = weight[static_cast<size_t>(c)];
        for (int64_t p = 0; p < pixels; ++p) yc[p] = w * (xc[p] / denom[p]);
      }
    }
  });
  plan.set_value(id, dst);
}

}  // namespace osprey
