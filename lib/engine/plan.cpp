#include "engine/plan.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <omp.h>

#include "core/error.hpp"
#include "engine/shapes.hpp"

namespace osprey {

using dnnl::memory;

memory::dims to_dims(const Shape& shape) { return memory::dims(shape.begin(), shape.end()); }

memory::desc plain_desc(const memory::dims& dims) {
  memory::dims strides(dims.size(), 1);
  for (int i = static_cast<int>(dims.size()) - 2; i >= 0; --i) strides[i] = strides[i + 1] * dims[i + 1];
  return memory::desc(dims, memory::data_type::f32, strides);
}

memory::desc any_desc(const memory::dims& dims) {
  return memory::desc(dims, memory::data_type::f32, memory::format_tag::any);
}

std::vector<EltwiseOp> eltwise_ops(const Activation& a) {
  using dnnl::algorithm;
  switch (a.kind) {
    case ActKind::Relu: return {{algorithm::eltwise_relu, 0.0f, 0.0f}};
    case ActKind::LeakyRelu: return {{algorithm::eltwise_relu, a.alpha, 0.0f}};
    case ActKind::Relu6: return {{algorithm::eltwise_clip_v2, 0.0f, 6.0f}};
    case ActKind::Clip: return {{algorithm::eltwise_clip_v2, a.alpha, a.beta}};
    case ActKind::Tanh: return {{algorithm::eltwise_tanh, 0.0f, 0.0f}};
    case ActKind::Sigmoid: return {{algorithm::eltwise_logistic, 0.0f, 0.0f}};
    case ActKind::HardSwish: return {{algorithm::eltwise_hardswish, 0.0f, 0.0f}};
    case ActKind::SiLU: return {{algorithm::eltwise_swish, 1.0f, 0.0f}};
    // oneDNN 2.6 has no hardsigmoid: a linear step, then clip to [0, 1]
    case ActKind::HardSigmoid: return {{algorithm::eltwise_linear, a.alpha, a.beta}, {algorithm::eltwise_clip_v2, 0.0f, 1.0f}};
    case ActKind::Exp: return {{algorithm::eltwise_exp, 0.0f, 0.0f}};
    case ActKind::Log: return {{algorithm::eltwise_log, 0.0f, 0.0f}};
    case ActKind::Sqrt: return {{algorithm::eltwise_sqrt, 0.0f, 0.0f}};
    case ActKind::Abs: return {{algorithm::eltwise_abs, 0.0f, 0.0f}};
    case ActKind::Affine: return {{algorithm::eltwise_linear, a.alpha, a.beta}};
    case ActKind::Pow: return {{algorithm::eltwise_pow, 1.0f, a.alpha}};
    case ActKind::Elu: return {{algorithm::eltwise_elu, a.alpha, 0.0f}};
    case ActKind::Gelu: return {{algorithm::eltwise_gelu_erf, 0.0f, 0.0f}};
    case ActKind::Softplus: return {{algorithm::eltwise_soft_relu, 0.0f, 0.0f}};
  }
  return {};
}

dnnl::primitive_attr post_op_attr(const Node& node) {
  dnnl::primitive_attr attr;
  if (node.post_ops.empty()) return attr;
  dnnl::post_ops ops;
  for (const auto& po : node.post_ops) {
    if (po.kind == PostOp::Sum) {
      ops.append_sum(1.0f);
    } else {
      for (const auto& e : eltwise_ops(po.act)) ops.append_eltwise(1.0f, e.alg, e.alpha, e.beta);
    }
  }
  attr.set_post_ops(ops);
  return attr;
}

memory sum_destination(Plan& plan, const Node& node, int id, const memory::desc& dst_md) {
  const int operand = node.inputs.back();
  const memory& src = plan.value(operand);
  const bool is_graph_input = plan.graph().nodes[operand].op == Op::Input;
  // Not in place when the primitive also reads that buffer (y = conv(x) + x): it would
  // overwrite input pixels that later output pixels still need.
  bool read_by_node = false;
  for (size_t i = 0; i + 1 < node.inputs.size(); ++i) read_by_node |= plan.same_buffer(plan.value(node.inputs[i]), src);
  if (src.get_desc() == dst_md && plan.dies_at(operand, id) && !is_graph_input && !read_by_node) return src;
  memory dst = plan.new_memory(dst_md);
  plan.add_step(node.name, dnnl::reorder(src, dst), {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, dst}}, "reorder", "sum operand");
  return dst;
}

Plan::Plan(const Graph& graph, const std::vector<Shape>& input_shapes)
    : graph_(graph), engine_(dnnl::engine::kind::cpu, 0), stream_(engine_) {
  shapes_ = infer_shapes(graph, input_shapes);
  const int n = static_cast<int>(graph.nodes.size());
  last_use_.assign(n, -1);
  for (int id = 0; id < n; ++id) {
    if (graph.nodes[id].dead) continue;
    for (int in : graph.nodes[id].inputs) last_use_[in] = std::max(last_use_[in], id);
  }
  for (int out : graph.outputs) last_use_[out] = std::numeric_limits<int>::max();

  values_.resize(n);
  for (int id = 0; id < n; ++id) {
    const Node& node = graph.nodes[id];
    if (node.dead) continue;
    if (node.op == Op::Input) {
      values_[id] = persistent_memory(plain_desc(to_dims(shapes_[id])));
      inputs_.push_back(values_[id]);
      continue;
    }
    try {
      planner_for(node.op)(*this, node, id);
    } catch (const dnnl::error& e) {
      throw ModelError(cat("layer '", node.name, "' (", op_name(node.op), ", input ", to_string(shapes_[node.inputs.at(0)]),
                           "): oneDNN cannot build it: ", e.what()));
    }
  }
  for (int out : graph.outputs) {
    const memory& src = values_[out];
    memory dst = persistent_memory(plain_desc(to_dims(shapes_[out])));
    add_step("output", dnnl::reorder(src, dst), {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, dst}}, "reorder", "to plain");
    outputs_.push_back(dst);
  }
  place_buffers();
}

int Plan::buffer_of(const memory& m) const {
  auto it = buffer_index_.find(m.get());
  return it == buffer_index_.end() ? -1 : it->second;
}

bool Plan::same_buffer(const memory& a, const memory& b) const {
  const int ba = buffer_of(a), bb = buffer_of(b);
  if (ba >= 0 || bb >= 0) return ba == bb;
  return a.get_data_handle() == b.get_data_handle();
}

void Plan::touch(const memory& m) {
  const int b = buffer_of(m);
  if (b < 0) return;
  const int step = static_cast<int>(steps_.size());
  Buffer& buf = buffers_[b];
  if (buf.first < 0 || step < buf.first) buf.first = step;
  buf.last = std::max(buf.last, step);
}

memory Plan::persistent_memory(const memory::desc& md) { return memory(md, engine_); }

memory Plan::alias(const memory& base, const memory::desc& md) {
  const int b = buffer_of(base);
  if (b < 0) return memory(md, engine_, base.get_data_handle());
  memory view(md, engine_, DNNL_MEMORY_NONE);
  buffer_index_[view.get()] = b;
  bound_.emplace_back(view, b);
  return view;
}

void Plan::place_buffers() {
  // Largest first; each at the lowest offset clear of every placed buffer whose steps
  // overlap its own.
  std::vector<int> order(buffers_.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return buffers_[a].bytes > buffers_[b].bytes; });
  constexpr size_t kAlign = 64;
  std::vector<int> placed;
  for (int i : order) {
    Buffer& buf = buffers_[i];
    if (buf.first < 0) buf.first = buf.last = 0;
    const size_t bytes = (buf.bytes + kAlign - 1) / kAlign * kAlign;
    std::vector<std::pair<size_t, size_t>> taken;  // [begin, end) of overlapping-in-time buffers
    for (int j : placed) {
      const Buffer& other = buffers_[j];
      if (other.last < buf.first || buf.last < other.first) continue;
      taken.emplace_back(other.offset, other.offset + (other.bytes + kAlign - 1) / kAlign * kAlign);
    }
    std::sort(taken.begin(), taken.end());
    size_t offset = 0;
    for (const auto& [begin, end] : taken) {
      if (offset + bytes <= begin) break;
      offset = std::max(offset, end);
    }
    buf.offset = offset;
    arena_size_ = std::max(arena_size_, offset + bytes);
    placed.push_back(i);
  }
  arena_.reset(static_cast<char*>(std::aligned_alloc(kAlign, std::max<size_t>(arena_size_, kAlign))));
  if (!arena_) throw ModelError(cat("cannot allocate ", arena_size_, " bytes for activations"));
  for (auto& [mem, b] : bound_) mem.set_data_handle(arena_.get() + buffers_[b].offset);
}

memory Plan::new_memory(const memory::desc& md) {
  memory mem(md, engine_, DNNL_MEMORY_NONE);
  buffer_index_[mem.get()] = static_cast<int>(buffers_.size());
  bound_.emplace_back(mem, static_cast<int>(buffers_.size()));
  buffers_.push_back({md.get_size(), -1, -1, 0});
  return mem;
}

memory Plan::to_layout(const memory& src, const memory::desc& md, const std::string& layer) {
  if (src.get_desc() == md) return src;
  memory dst = new_memory(md);
  add_step(layer, dnnl::reorder(src, dst), {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, dst}}, "reorder", "");
  return dst;
}

memory Plan::to_plain(const memory& src, const std::string& layer) {
  return to_layout(src, plain_desc(src.get_desc().dims()), layer);
}

memory Plan::weights(const Tensor& tensor, const memory::dims& dims, const memory::desc& want) {
  memory::dim count = 1;
  for (auto d : dims) count *= d;
  if (count != tensor.size()) throw ModelError(cat("weights of ", tensor.size(), " values cannot have shape ", to_string(Shape(dims.begin(), dims.end()))));
  memory user(plain_desc(dims), engine_, const_cast<float*>(tensor.data.data()));
  memory out = persistent_memory(want);
  dnnl::reorder(user, out).execute(stream_, user, out);
  stream_.wait();
  return out;
}

void Plan::add_step(const std::string& layer, dnnl::primitive primitive, std::unordered_map<int, memory> args,
                    const char* kind, const char* impl) {
  for (const auto& [arg, mem] : args) touch(mem);
  steps_.push_back({layer, std::move(primitive), std::move(args), {}, kind, impl});
}

void Plan::add_custom_step(const std::string& layer, const char* kind, std::vector<memory> touches, std::function<void()> fn) {
  for (const auto& mem : touches) touch(mem);
  steps_.push_back({layer, {}, {}, std::move(fn), kind, "osprey:cpp"});
}

std::vector<Tensor> Plan::run(const std::vector<const Tensor*>& inputs) {
  if (inputs.size() != inputs_.size())
    throw ModelError(cat("the model takes ", inputs_.size(), " inputs, got ", inputs.size()));
  for (size_t i = 0; i < inputs.size(); ++i) {
    const size_t bytes = inputs[i]->data.size() * sizeof(float);
    if (bytes != inputs_[i].get_desc().get_size())
      throw ModelError(cat("input ", i, " has shape ", to_string(inputs[i]->shape), ", the plan expects ",
                           to_string(shape(graph_.inputs[i]))));
    std::memcpy(inputs_[i].get_data_handle(), inputs[i]->data.data(), bytes);
  }
  for (auto& step : steps_) {
    if (step.custom) {
      stream_.wait();
      step.custom();
    } else {
      step.primitive.execute(stream_, step.args);
    }
  }
  stream_.wait();
  std::vector<Tensor> results;
  for (size_t i = 0; i < outputs_.size(); ++i) {
    Tensor t(shape(graph_.outputs[i]));
    std::memcpy(t.data.data(), outputs_[i].get_data_handle(), t.data.size() * sizeof(float));
    results.push_back(std::move(t));
  }
  return results;
}

std::vector<StepInfo> Plan::step_infos() const {
  std::vector<StepInfo> infos;
  for (const auto& s : steps_) infos.push_back({s.layer, s.kind, s.implementation});
  return infos;
}

}  // namespace osprey
