// Resize of the last two axes with ONNX Resize semantics: nearest (four rounding modes)
// or linear, under every coordinate transformation mode. Source coordinates and weights
// are computed once at plan time; the run is a gather (nearest) or a 4-tap blend.
// With `size_from_second_input` the output size comes from shape inference (the second
// input's last two axes; that input's data is never read) and the scale is out / in, so
// torch's F.interpolate(x, size=..., mode="nearest"), src = floor(dst * in / out), is
// the asymmetric transform with floor rounding.
#include <cmath>

#include "engine/plan.hpp"

namespace osprey {

namespace {

// Source coordinate of output coordinate `o` along one axis.
double source_coordinate(const ResizeParams& p, int64_t o, int64_t in, int64_t out, float given_scale) {
  const double scale = given_scale > 0 ? given_scale : static_cast<double>(out) / static_cast<double>(in);
  switch (p.coord) {
    case ResizeParams::HalfPixel: return (o + 0.5) / scale - 0.5;
    case ResizeParams::PytorchHalfPixel: return out > 1 ? (o + 0.5) / scale - 0.5 : 0.0;
    case ResizeParams::AlignCorners: {
      // ONNX measures the output length as in * scale, unrounded, when scales are given.
      const double length = given_scale > 0 ? in * static_cast<double>(given_scale) : static_cast<double>(out);
      return length <= 1 ? 0.0 : o * static_cast<double>(in - 1) / (length - 1);
    }
    case ResizeParams::Asymmetric: return o / scale;
    case ResizeParams::TfHalfPixelForNn: return (o + 0.5) / scale;
  }
  return 0.0;
}

int64_t nearest_index(const ResizeParams& p, double x, int64_t in) {
  double r = 0;
  switch (p.nearest) {
    case ResizeParams::RoundPreferFloor: r = (x == std::floor(x) + 0.5) ? std::floor(x) : std::round(x); break;
    case ResizeParams::RoundPreferCeil: r = std::floor(x + 0.5); break;
    case ResizeParams::Floor: r = std::floor(x); break;
    case ResizeParams::Ceil: r = std::ceil(x); break;
  }
  return std::clamp<int64_t>(static_cast<int64_t>(r), 0, in - 1);
}

struct Taps {
  std::vector<int64_t> lo, hi;
  std::vector<float> w;  // weight of hi
};

Taps axis_taps(const ResizeParams& p, int64_t in, int64_t out, float scale) {
  Taps t;
  for (int64_t o = 0; o < out; ++o) {
    const double x = source_coordinate(p, o, in, out, scale);
    if (p.mode == ResizeParams::Nearest) {
      const int64_t i = nearest_index(p, x, in);
      t.lo.push_back(i);
      t.hi.push_back(i);
      t.w.push_back(0.0f);
    } else {
      const double c = std::clamp(x, 0.0, static_cast<double>(in - 1));
      const int64_t i0 = static_cast<int64_t>(std::floor(c));
      const int64_t i1 = std::min(i0 + 1, in - 1);
      t.lo.push_back(i0);
      t.hi.push_back(i1);
      t.w.push_back(static_cast<float>(c - static_cast<double>(i0)));
    }
  }
  return t;
}

}  // namespace

void plan_resize(Plan& plan, const Node& node, int id) {
  const auto& p = node.get<ResizeParams>();
  // Only the first input is data; a size reference (second input) matters for shapes alone.
  const Shape in = plan.shape(node.inputs[0]), out = plan.shape(id);
  const size_t r = in.size();
  const int64_t ih = in[r - 2], iw = in[r - 1], oh = out[r - 2], ow = out[r - 1];
  const int64_t planes = element_count(in) / (ih * iw);
  const Taps ty = axis_taps(p, ih, oh, p.scale[0]);
  const Taps tx = axis_taps(p, iw, ow, p.scale[1]);
  const dnnl::memory src = plan.to_plain(plan.value(node.inputs[0]), node.name);
  dnnl::memory dst = plan.new_memory(plain_desc(to_dims(out)));
  plan.add_custom_step(node.name, "resize", {src, dst}, [=]() {
    const float* s = static_cast<const float*>(src.get_data_handle());
    float* d = static_cast<float*>(dst.get_data_handle());
#pragma omp parallel for
    for (int64_t c = 0; c < planes; ++c) {
      const float* plane = s + c * ih * iw;
      float* o = d + c * oh * ow;
      for (int64_t y = 0; y < oh; ++y) {
        const float* r0 = plane + ty.lo[y] * iw;
        const float* r1 = plane + ty.hi[y] * iw;
        const float wy = ty.w[y];
        for (int64_t x = 0; x < ow; ++x) {
          const float top = r0[tx.lo[x]] + (r0[tx.hi[x]] - r0[tx.lo[x]]) * tx.w[x];
          const float bottom = r1[tx.lo[x]] + (r1[tx.hi[x]] - r1[tx.lo[x]]) * tx.w[x];
          o[y * ow + x] = top + (bottom - top) * wy;
        }
      }
    }
  });
  plan.set_value(id, dst);
}

}  // namespace osprey
