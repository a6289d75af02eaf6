#include "engine/cost.hpp"

namespace osprey {

int64_t node_parameters(const Node& node) {
  int64_t n = 0;
  for (const auto& t : node.tensors)
    if (node.op != Op::Constant) n += element_count(t.shape);
  return n;
}

int64_t node_flops(const Node& node, const std::vector<Shape>& in, const Shape& out) {
  const int64_t out_elems = element_count(out);
  switch (node.op) {
    case Op::Conv: {
      const auto& p = node.get<ConvParams>();
      return 2 * out_elems * (in.at(0)[1] / p.groups) * p.kernel[0] * p.kernel[1];
    }
    case Op::Deconv: {
      const auto& p = node.get<ConvParams>();
      return 2 * element_count(in.at(0)) * (p.out_channels / p.groups) * p.kernel[0] * p.kernel[1];
    }
    case Op::InnerProduct: return 2 * out_elems * in.at(0)[1];
    case Op::Pool: {
      const auto& p = node.get<PoolParams>();
      return p.global ? element_count(in.at(0)) : out_elems * p.kernel[0] * p.kernel[1];
    }
    case Op::AdaptiveAvgPool: return element_count(in.at(0));
    case Op::LRN: return out_elems * (2 * node.get<LRNParams>().size + 3);
    case Op::Resize: return out_elems * 4;
    case Op::Input:
    case Op::Constant:
    case Op::Flatten:
    case Op::Reshape:
    case Op::Identity: return 0;
    default: return out_elems;  // elementwise, softmax, concat, transpose ...: about one op per element
  }
}

}  // namespace osprey
