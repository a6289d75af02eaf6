// Inference batch norm that could not be folded into a convolution (its input is not a
// conv's result): oneDNN batch normalisation with global statistics and scale/shift.
#include "engine/plan.hpp"

namespace osprey {

using dnnl::memory;

void plan_batch_norm(Plan& plan, const Node& node, int id) {
  const memory& src = plan.value(node.inputs[0]);
  const memory::dim channels = plan.shape(id)[1];
  const auto flags = dnnl::normalization_flags::use_global_stats | dnnl::normalization_flags::use_scale_shift;
  dnnl::batch_normalization_forward::desc desc(dnnl::prop_kind::forward_inference, src.get_desc(),
                                               node.get<BatchNormParams>().eps, flags);
  dnnl::batch_normalization_forward::primitive_desc pd(desc, plan.engine());

  // oneDNN takes scale and shift as one [2, C] tensor.
  Tensor scale_shift(Shape{2, channels});
  const Tensor& gamma = node.tensor("weight");
  const Tensor& beta = node.tensor("bias");
  std::copy(gamma.data.begin(), gamma.data.end(), scale_shift.data.begin());
  std::copy(beta.data.begin(), beta.data.end(), scale_shift.data.begin() + channels);

  memory dst = plan.new_memory(pd.dst_desc());
  std::unordered_map<int, memory> args{
      {DNNL_ARG_SRC, src},
      {DNNL_ARG_DST, dst},
      {DNNL_ARG_MEAN, plan.weights(node.tensor("running_mean"), {channels}, pd.mean_desc())},
      {DNNL_ARG_VARIANCE, plan.weights(node.tensor("running_var"), {channels}, pd.variance_desc())},
      {DNNL_ARG_SCALE_SHIFT, plan.weights(scale_shift, {2, channels}, pd.weights_desc())},
  };
  plan.add_step(node.name, dnnl::batch_normalization_forward(pd), std::move(args), "batch_norm", pd.impl_info_str());
  plan.set_value(id, dst);
}

}  // namespace osprey
