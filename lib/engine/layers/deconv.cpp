// Transposed convolution (ONNX ConvTranspose, torch ConvTranspose2d): weights are stored
// [out, in/groups, kh, kw] (the importer transposes ONNX's [in, out/groups, kh, kw]).
// output_padding becomes less right/bottom padding.
#include "core/error.hpp"
#include "engine/plan.hpp"

namespace osprey {

using dnnl::memory;

void plan_deconv(Plan& plan, const Node& node, int id) {
  const auto& p = node.get<ConvParams>();
  const Shape& in = plan.shape(node.inputs[0]);
  const memory::dim groups = p.groups;
  const memory::dims wdims = groups > 1
      ? memory::dims{groups, p.out_channels / groups, in[1] / groups, p.kernel[0], p.kernel[1]}
      : memory::dims{p.out_channels, in[1], p.kernel[0], p.kernel[1]};
  const memory::dims bdims{p.out_channels};
  const memory::dims strides{p.stride[0], p.stride[1]};
  const memory::dims dilates{p.dilation[0] - 1, p.dilation[1] - 1};
  const memory::dims pad_l{p.pad[0], p.pad[1]};
  const memory::dims pad_r{p.pad[2] - p.output_padding[0], p.pad[3] - p.output_padding[1]};
  const auto src_md = any_desc(to_dims(in));
  // oneDNN 2.6's blocked deconvolution pads the output channels to the block and is slow
  // for thin outputs (24 -> 1 channels at 608x800: 180 ms blocked, 13 ms plain, measured
  // on PP-OCR's detector head): thin outputs take the plain layout.
  const auto dst_md = p.out_channels % 16 == 0 ? any_desc(to_dims(plan.shape(id)))
                                               : memory::desc(to_dims(plan.shape(id)), memory::data_type::f32, memory::format_tag::nchw);
  auto desc = p.bias ? dnnl::deconvolution_forward::desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::deconvolution_direct,
                                                         src_md, any_desc(wdims), any_desc(bdims), dst_md, strides, dilates, pad_l, pad_r)
                     : dnnl::deconvolution_forward::desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::deconvolution_direct,
                                                         src_md, any_desc(wdims), dst_md, strides, dilates, pad_l, pad_r);
  dnnl::deconvolution_forward::primitive_desc pd(desc, post_op_attr(node), plan.engine());
  std::unordered_map<int, memory> args;
  args[DNNL_ARG_SRC] = plan.to_layout(plan.value(node.inputs[0]), pd.src_desc(), node.name);
  args[DNNL_ARG_WEIGHTS] = plan.weights(node.tensor("weight"), wdims, pd.weights_desc());
  if (p.bias) args[DNNL_ARG_BIAS] = plan.weights(node.tensor("bias"), bdims, pd.bias_desc());
  memory dst = plan.new_memory(pd.dst_desc());
  args[DNNL_ARG_DST] = dst;
  plan.add_step(node.name, dnnl::deconvolution_forward(pd), std::move(args), "deconvolution", pd.impl_info_str());
  plan.set_value(id, dst);
}

}  // namespace osprey
