// Op -> planner. Adding a layer kind: a file in layers/, a line here, a row in docs/layers.md.
#include "core/error.hpp"
#include "engine/plan.hpp"

namespace osprey {

void plan_conv(Plan&, const Node&, int);
void plan_pool(Plan&, const Node&, int);
void plan_adaptive_avg_pool(Plan&, const Node&, int);
void plan_inner_product(Plan&, const Node&, int);
void plan_batch_norm(Plan&, const Node&, int);
void plan_lrn(Plan&, const Node&, int);
void plan_activation(Plan&, const Node&, int);
void plan_softmax(Plan&, const Node&, int);
void plan_concat(Plan&, const Node&, int);
void plan_binary(Plan&, const Node&, int);
void plan_flatten(Plan&, const Node&, int);
void plan_constant(Plan&, const Node&, int);
void plan_deconv(Plan&, const Node&, int);
void plan_transpose(Plan&, const Node&, int);
void plan_slice(Plan&, const Node&, int);
void plan_pad(Plan&, const Node&, int);
void plan_resize(Plan&, const Node&, int);
void plan_matmul(Plan&, const Node&, int);
void plan_l2_norm(Plan&, const Node&, int);

static void plan_identity(Plan& plan, const Node& node, int id) { plan.set_value(id, plan.value(node.inputs[0])); }

LayerPlanner planner_for(Op op) {
  switch (op) {
    case Op::Conv: return plan_conv;
    case Op::Pool: return plan_pool;
    case Op::AdaptiveAvgPool: return plan_adaptive_avg_pool;
    case Op::InnerProduct: return plan_inner_product;
    case Op::BatchNorm: return plan_batch_norm;
    case Op::LRN: return plan_lrn;
    case Op::Activation: return plan_activation;
    case Op::Softmax: return plan_softmax;
    case Op::Concat: return plan_concat;
    case Op::Add:
    case Op::Mul:
    case Op::Sub:
    case Op::Div:
    case Op::Max:
    case Op::Min: return plan_binary;
    case Op::Flatten:
    case Op::Reshape: return plan_flatten;
    case Op::Constant: return plan_constant;
    case Op::Deconv: return plan_deconv;
    case Op::Transpose: return plan_transpose;
    case Op::Slice: return plan_slice;
    case Op::Pad: return plan_pad;
    case Op::Resize: return plan_resize;
    case Op::MatMul: return plan_matmul;
    case Op::L2Norm: return plan_l2_norm;
    case Op::Identity: return plan_identity;
    case Op::Input: break;
  }
  throw ModelError(cat("no planner for op '", op_name(op), "'"));
}

}  // namespace osprey
