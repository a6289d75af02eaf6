// osprey-bench: speed of Osprey next to ONNX Runtime on the same .onnx file and the same
// input, at several batch sizes, in one run. Prints ms per image and the ratio
// (Osprey / ONNX Runtime; below 1 means Osprey is faster). A benchmark, not a test.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <random>
#include <sstream>

#include "app_common.hpp"
#include "core/error.hpp"
#include "engine/executor.hpp"
#include "engine/passes.hpp"
#include "model/npy.hpp"
#include "model/onnx/onnx_model.hpp"

using namespace osprey;
namespace fs = std::filesystem;

namespace {

constexpr const char* kTool = "osprey-bench";

struct Options {
  std::vector<std::string> models;
  std::vector<int> batches{1, 8};
  int threads = 2;
  int repeat = 10;
  int size = 224;
  bool ort = true;
  std::string ort_script;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// ONNX Runtime's median ms per run from tools/onnx/ort_run.mjs, or -1 when it cannot run.
double ort_median_ms(const Options& o, const std::string& model, const std::string& input_name, const std::string& input) {
  const fs::path out = fs::temp_directory_path() / ("osprey-bench-ort-" + std::to_string(::getpid()));
  std::ostringstream cmd;
  cmd << "node '" << o.ort_script << "' --model '" << model << "' --input '" << input_name << "=" << input << "' --output-dir '"
      << out.string() << "' --threads " << o.threads << " --repeat " << o.repeat << " 2>/dev/null";
  FILE* pipe = ::popen(cmd.str().c_str(), "r");
  if (!pipe) return -1;
  std::string text;
  char buf[4096];
  while (size_t n = std::fread(buf, 1, sizeof buf, pipe)) text.append(buf, n);
  const int status = ::pclose(pipe);
  fs::remove_all(out);
  if (status != 0) return -1;
  try {
    return nlohmann::json::parse(text.substr(text.find('{')))["median_ms"].get<double>();
  } catch (...) {
    return -1;
  }
}

int bench(const Options& o) {
  set_num_threads(o.threads);
  std::cout << "threads " << o.threads << ", median of " << o.repeat << " runs after a warm-up\n";
  std::printf("%-28s %5s %14s %14s %8s\n", "model", "batch", "osprey ms/img", "ORT ms/img", "ratio");
  for (const auto& path : o.models) {
    const auto onnx = std::make_shared<OnnxModel>(path);
    if (onnx->inputs().size() != 1) throw ModelError(cat(path, ": the bench feeds one input; this model has ", onnx->inputs().size()));
    const auto& dims = onnx->inputs()[0].dims;
    Executor ex([onnx](const std::vector<Shape>& shapes) {
      auto g = std::make_shared<Graph>(onnx->build(shapes));
      optimize(*g, shapes);
      return std::shared_ptr<const Graph>(g);
    });
    for (int batch : o.batches) {
      Shape shape{batch, dims.size() > 1 && dims[1] > 0 ? dims[1] : 3, dims.size() > 2 && dims[2] > 0 ? dims[2] : o.size,
                  dims.size() > 3 && dims[3] > 0 ? dims[3] : o.size};
      Tensor input(shape);
      std::mt19937 rng(0);
      std::normal_distribution<float> normal;
      for (float& v : input.data) v = normal(rng);
      ex.run(input);  // plan and warm up
      std::vector<double> times;
      for (int r = 0; r < o.repeat; ++r) {
        const auto t = std::chrono::steady_clock::now();
        ex.run(input);
        times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count());
      }
      const double ours = median(times) / batch;
      double theirs = -1;
      if (o.ort) {
        const fs::path npy = fs::temp_directory_path() / ("osprey-bench-input-" + std::to_string(::getpid()) + ".npy");
        write_npy(npy.string(), input);
        theirs = ort_median_ms(o, path, onnx->inputs()[0].name, npy.string());
        fs::remove(npy);
        if (theirs > 0) theirs /= batch;
      }
      if (theirs > 0)
        std::printf("%-28s %5d %14.2f %14.2f %8.2f\n", fs::path(path).filename().c_str(), batch, ours, theirs, ours / theirs);
      else
        std::printf("%-28s %5d %14.2f %14s %8s\n", fs::path(path).filename().c_str(), batch, ours, "-", "-");
      std::fflush(stdout);
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Benchmark Osprey against ONNX Runtime on the same .onnx files and inputs."};
  Options o;
  o.ort_script = (fs::path(OSPREY_SOURCE_DIR) / "tools" / "onnx" / "ort_run.mjs").string();
  app.add_option("models", o.models, "ONNX files")->required();
  app.add_option("-b,--batch", o.batches, "Batch sizes")->delimiter(',')->capture_default_str();
  app.add_option("-t,--threads", o.threads, "Compute threads for both runtimes")->capture_default_str();
  app.add_option("-r,--repeat", o.repeat, "Timed runs per case")->capture_default_str();
  app.add_option("--size", o.size, "Input height and width where the file leaves them open")->capture_default_str();
  app.add_flag("!--no-ort", o.ort, "Skip ONNX Runtime (needs node and onnxruntime-node: tools/onnx/setup_ort.sh)");
  app.add_option("--ort-script", o.ort_script, "ort_run.mjs to run ONNX Runtime with");
  return run_tool(kTool, argc, argv, app, [&] { return bench(o); });
}
