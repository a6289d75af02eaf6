// Runs a layer graph on oneDNN. The executor plans once per input shape: it builds every
// primitive (oneDNN picks blocked layouts), reorders weights into those layouts, and
// allocates every activation buffer; then each run only copies the input in, executes the
// primitive list and copies the outputs out. Plans are cached by input shape, so a batch
// tool that alternates full and partial batches plans twice, not once per image.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.hpp"
#include "engine/graph.hpp"

namespace osprey {

class Plan;  // defined in plan.hpp (oneDNN types stay out of this header)

// One line per planned step: the layer, its oneDNN implementation and shapes. For
// `osprey-inspect`-style reports and for asserting that no step fell to reference code.
struct StepInfo {
  std::string layer;
  std::string primitive;
  std::string implementation;
};

// Makes the graph for given input shapes: imported models (ONNX) fold shape arithmetic
// for the exact shapes, so each batch size gets its own graph.
using GraphFactory = std::function<std::shared_ptr<const Graph>(const std::vector<Shape>& input_shapes)>;

class Executor {
 public:
  explicit Executor(std::shared_ptr<const Graph> graph);  // one graph for every shape
  explicit Executor(GraphFactory factory);
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // Runs the graph on the given inputs (one per graph input, plain NCHW) and returns the
  // graph outputs in plain layout.
  std::vector<Tensor> run(const std::vector<const Tensor*>& inputs);
  std::vector<Tensor> run(const Tensor& input) { return run(std::vector<const Tensor*>{&input}); }

  // Plans for these input shapes now (otherwise the first run does it).
  void prepare(const std::vector<Shape>& input_shapes);
  std::vector<StepInfo> steps(const std::vector<Shape>& input_shapes);
  // The graph planned for these shapes.
  const Graph& graph(const std::vector<Shape>& input_shapes);

 private:
  struct Planned {
    std::shared_ptr<const Graph> graph;
    std::unique_ptr<Plan> plan;
  };
  Planned& plan_for(const std::vector<Shape>& input_shapes);

  GraphFactory factory_;
  std::map<std::vector<Shape>, Planned> plans_;
};

// Compute threads for oneDNN (OpenMP). 0 leaves the runtime's default.
void set_num_threads(int threads);

}  // namespace osprey
