#include "engine/executor.hpp"

#include <omp.h>

#include "engine/plan.hpp"

namespace osprey {

Executor::Executor(std::shared_ptr<const Graph> graph) : graph_(std::move(graph)) {}
Executor::~Executor() = default;

Plan& Executor::plan_for(const std::vector<Shape>& input_shapes) {
  auto it = plans_.find(input_shapes);
  if (it == plans_.end()) it = plans_.emplace(input_shapes, std::make_unique<Plan>(*graph_, input_shapes)).first;
  return *it->second;
}

std::vector<Tensor> Executor::run(const std::vector<const Tensor*>& inputs) {
  std::vector<Shape> shapes;
  for (const Tensor* t : inputs) shapes.push_back(t->shape);
  return plan_for(shapes).run(inputs);
}

void Executor::prepare(const std::vector<Shape>& input_shapes) { plan_for(input_shapes); }

std::vector<StepInfo> Executor::steps(const std::vector<Shape>& input_shapes) {
  return plan_for(input_shapes).step_infos();
}

void set_num_threads(int threads) {
  if (threads > 0) omp_set_num_threads(threads);
}

}  // namespace osprey
