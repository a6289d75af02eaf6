#include "engine/executor.hpp"

#include <omp.h>

#include "engine/plan.hpp"

namespace osprey {

Executor::Executor(std::shared_ptr<const Graph> graph)
    : factory_([graph](const std::vector<Shape>&) { return graph; }) {}
Executor::Executor(GraphFactory factory) : factory_(std::move(factory)) {}
Executor::~Executor() = default;

Executor::Planned& Executor::plan_for(const std::vector<Shape>& input_shapes) {
  auto it = plans_.find(input_shapes);
  if (it == plans_.end()) {
    Planned p;
    p.graph = factory_(input_shapes);
    p.plan = std::make_unique<Plan>(*p.graph, input_shapes);
    it = plans_.emplace(input_shapes, std::move(p)).first;
  }
  return it->second;
}

std::vector<Tensor> Executor::run(const std::vector<const Tensor*>& inputs) {
  std::vector<Shape> shapes;
  for (const Tensor* t : inputs) shapes.push_back(t->shape);
  return plan_for(shapes).plan->run(inputs);
}

void Executor::prepare(const std::vector<Shape>& input_shapes) { plan_for(input_shapes); }

std::vector<StepInfo> Executor::steps(const std::vector<Shape>& input_shapes) {
  return plan_for(input_shapes).plan->step_infos();
}

const Graph& Executor::graph(const std::vector<Shape>& input_shapes) { return *plan_for(input_shapes).graph; }

void set_num_threads(int threads) {
  if (threads > 0) omp_set_num_threads(threads);
}

}  // namespace osprey
