// The planned form of a graph for one input shape, and the context layer planners use to
// build it. Internal to the engine: it exposes oneDNN types.
#pragma once

#include <dnnl.hpp>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/tensor.hpp"
#include "engine/executor.hpp"
#include "engine/graph.hpp"

namespace osprey {

struct Step {
  std::string layer;
  dnnl::primitive primitive;  // empty for custom steps
  std::unordered_map<int, dnnl::memory> args;
  std::function<void()> custom;  // plain C++ kernel for what oneDNN lacks
  std::string kind;
  std::string implementation;
};

class Plan {
 public:
  Plan(const Graph& graph, const std::vector<Shape>& input_shapes);

  std::vector<Tensor> run(const std::vector<const Tensor*>& inputs);
  std::vector<StepInfo> step_infos() const;

  // --- used by layer planners ---
  const Graph& graph() const { return graph_; }
  const Shape& shape(int value) const { return shapes_[value]; }
  dnnl::engine& engine() { return engine_; }
  dnnl::memory& value(int id) { return values_[id]; }
  void set_value(int id, dnnl::memory mem) { values_[id] = std::move(mem); }
  // True when no node after `node_id` (nor a graph output) reads value `id`.
  bool dies_at(int id, int node_id) const { return last_use_[id] == node_id; }

  // An activation buffer. Buffers live in one arena per plan: two whose steps never
  // overlap share bytes (their place is fixed when planning ends).
  dnnl::memory new_memory(const dnnl::memory::desc& md);
  // A buffer of its own, filled or read outside the steps (inputs, outputs, constants).
  dnnl::memory persistent_memory(const dnnl::memory::desc& md);
  // `base`'s bytes described by `md` (a reshaped or permuted view).
  dnnl::memory alias(const dnnl::memory& base, const dnnl::memory::desc& md);
  bool same_buffer(const dnnl::memory& a, const dnnl::memory& b) const;
  // `src` in layout `md`: src itself when it already is, else a new buffer filled by a reorder step.
  dnnl::memory to_layout(const dnnl::memory& src, const dnnl::memory::desc& md, const std::string& layer);
  // `src` in plain row-major layout (abcd / ab).
  dnnl::memory to_plain(const dnnl::memory& src, const std::string& layer);
  // A weight tensor reordered now (at plan time) into the layout a primitive asked for.
  dnnl::memory weights(const Tensor& tensor, const dnnl::memory::dims& dims, const dnnl::memory::desc& want);
  void add_step(const std::string& layer, dnnl::primitive primitive, std::unordered_map<int, dnnl::memory> args,
                const char* kind, const char* impl);
  // A C++ kernel; `touches` lists every buffer it reads or writes.
  void add_custom_step(const std::string& layer, const char* kind, std::vector<dnnl::memory> touches, std::function<void()> fn);

 private:
  const Graph& graph_;
  std::vector<Shape> shapes_;
  std::vector<int> last_use_;
  dnnl::engine engine_;
  dnnl::stream stream_;
  std::vector<dnnl::memory> values_;
  std::vector<Step> steps_;
  std::vector<dnnl::memory> inputs_;   // plain, filled by run()
  std::vector<dnnl::memory> outputs_;  // plain, read by run()

  // The arena: each buffer's size and the steps that touch it; memories bound to it.
  struct Buffer {
    size_t bytes = 0;
    int first = -1, last = -1;  // step indices
    size_t offset = 0;
  };
  int buffer_of(const dnnl::memory& m) const;  // -1 for memories outside the arena
  void touch(const dnnl::memory& m);
  void place_buffers();  // assigns offsets and points every bound memory at its bytes
  std::vector<Buffer> buffers_;
  std::unordered_map<const void*, int> buffer_index_;  // dnnl_memory_t -> buffer
  std::vector<std::pair<dnnl::memory, int>> bound_;
  std::unique_ptr<char, void (*)(void*)> arena_{nullptr, std::free};

 public:
  size_t arena_bytes() const { return arena_size_; }

 private:
  size_t arena_size_ = 0;
};

// Helpers shared by layer planners.
dnnl::memory::dims to_dims(const Shape& shape);
dnnl::memory::desc plain_desc(const dnnl::memory::dims& dims);
dnnl::memory::desc any_desc(const dnnl::memory::dims& dims);
// An activation as oneDNN eltwise operations (usually one; hardsigmoid takes two).
struct EltwiseOp {
  dnnl::algorithm alg;
  float alpha, beta;
};
std::vector<EltwiseOp> eltwise_ops(const Activation& act);
// Post-ops (fused activations and sums) of a node as a oneDNN attribute.
dnnl::primitive_attr post_op_attr(const Node& node);
// For a node with a fused sum: the destination buffer, pre-filled with the sum operand
// (in place when the operand dies here and already has the right layout).
dnnl::memory sum_destination(Plan& plan, const Node& node, int id, const dnnl::memory::desc& dst_md);

// `src` viewed (in plain layout) with another shape of the same element count.
dnnl::memory view_as(Plan& plan, const dnnl::memory& src, const Shape& shape, const std::string& layer);

// One planner per layer kind (layers/*.cpp).
using LayerPlanner = void (*)(Plan& plan, const Node& node, int id);
LayerPlanner planner_for(Op op);

}  // namespace osprey
