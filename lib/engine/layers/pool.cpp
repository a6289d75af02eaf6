// Max and average pooling with torch's semantics: ceil mode becomes extra right/bottom
// padding; count_include_pad selects oneDNN's include/exclude-padding average. Also
// torch's AdaptiveAvgPool2d: plain pooling when the bins are uniform, else a C++ kernel.
#include <cmath>

#include "core/error.hpp"
#include "engine/plan.hpp"
#include "engine/shapes.hpp"

namespace osprey {

using dnnl::memory;

static void add_pooling(Plan& plan, const Node& node, int id, dnnl::algorithm alg, const memory::dims& kernel,
                        const memory::dims& strides, const memory::dims& pad_l, const memory::dims& pad_r) {
  const memory& src = plan.value(node.inputs[0]);
  dnnl::pooling_forward::desc desc(dnnl::prop_kind::forward_inference, alg, src.get_desc(), any_desc(to_dims(plan.shape(id))),
                                   strides, kernel, pad_l, pad_r);
  dnnl::pooling_forward::primitive_desc pd(desc, plan.engine());
  memory dst = plan.new_memory(pd.dst_desc());
  plan.add_step(node.name, dnnl::pooling_forward(pd), {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}}, "pooling", pd.impl_info_str());
  plan.set_value(id, dst);
}

void plan_pool(Plan& plan, const Node& node, int id) {
  const auto& p = node.get<PoolParams>();
  const Shape& in = plan.shape(node.inputs[0]);
  const Shape& out = plan.shape(id);
  if (p.global) {
    add_pooling(plan, node, id, p.max ? dnnl::algorithm::pooling_max : dnnl::algorithm::pooling_avg_exclude_padding,
                {in[2], in[3]}, {1, 1}, {0, 0}, {0, 0});
    return;
  }
  memory::dims pad_r{p.pad[2], p.pad[3]};
  bool ceil_extra = false;
  for (int i = 0; i < 2; ++i) {
    // Right padding that makes oneDNN's floor formula give torch's (ceil-mode) extent.
    const int needed = static_cast<int>((out[2 + i] - 1) * p.stride[i] + p.kernel[i] - in[2 + i] - p.pad[i]);
    if (needed > pad_r[i]) {
      pad_r[i] = needed;
      ceil_extra = true;
    }
  }
  dnnl::algorithm alg = dnnl::algorithm::pooling_max;
  if (!p.max) {
    const bool any_pad = p.pad[0] || p.pad[1] || p.pad[2] || p.pad[3];
    // torch counts explicit padding but never the ceil-mode overhang; without explicit
    // padding that is exactly "exclude padding".
    if (p.count_include_pad && any_pad && ceil_extra)
      throw ModelError(cat("layer '", node.name, "': average pooling with ceil_mode, padding and count_include_pad is not supported"));
    alg = (p.count_include_pad && any_pad) ? dnnl::algorithm::pooling_avg_include_padding
                                           : dnnl::algorithm::pooling_avg_exclude_padding;
  }
  add_pooling(plan, node, id, alg, {p.kernel[0], p.kernel[1]}, {p.stride[0], p.stride[1]}, {p.pad[0], p.pad[1]}, pad_r);
}

void plan_adaptive_avg_pool(Plan& plan, const Node& node, int id) {
  const Shape& in = plan.shape(node.inputs[0]);
  const auto& o = node.get<AdaptivePoolParams>().output;
  if (in[2] % o[0] == 0 && in[3] % o[1] == 0) {
    const memory::dim kh = in[2] / o[0], kw = in[3] / o[1];
    add_pooling(plan, node, id, dnnl::algorithm::pooling_avg_exclude_padding, {kh, kw}, {kh, kw}, {0, 0}, {0, 0});
    return;
  }
  // Uneven bins: bin i covers [floor(i*H/oh), ceil((i+1)*H/oh)), as torch computes them.
  memory src = plan.to_plain(plan.value(node.inputs[0]), node.name);
  memory dst = plan.new_memory(plain_desc(to_dims(plan.shape(id))));
  const int64_t planes = in[0] * in[1], H = in[2], W = in[3], OH = o[0], OW = o[1];
  plan.add_custom_step(node.name, "adaptive_avg_pool", {src, dst}, [=]() {
    const float* s = static_cast<const float*>(src.get_data_handle());
    float* d = static_cast<float*>(dst.get_data_handle());
    for (int64_t p = 0; p < planes; ++p) {
      const float* plane = s + p * H * W;
      for (int64_t oy = 0; oy < OH; ++oy) {
        const int64_t y0 = oy * H / OH, y1 = (( oy + 1) * H + OH - 1) / OH;
        for (int64_t ox = 0; ox < OW; ++ox) {
          const int64_t x0 = ox * W / OW, x1 = ((ox + 1) * W + OW - 1) / OW;
          float sum = 0.0f;
          for (int64_t y = y0; y < y1; ++y)
            for (int64_t x = x0; x < x1; ++x) sum += plane[y * W + x];
          d[(p * OH + oy) * OW + ox] = sum / static_cast<float>((y1 - y0) * (x1 - x0));
        }
      }
    }
  });
  plan.set_value(id, dst);
}

}  // namespace osprey
