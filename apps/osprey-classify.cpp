// osprey-classify: the k most likely classes for every input image, one JSON line each.
#include <cmath>
#include <opencv2/core.hpp>

#include "app_common.hpp"
#include "classify/classifier.hpp"
#include "core/decimal.hpp"
#include "core/error.hpp"
#include "engine/executor.hpp"
#include "io/image.hpp"
#include "io/inputs.hpp"
#include "io/preprocess.hpp"
#include "io/progress.hpp"
#include "model/model.hpp"

using namespace osprey;

namespace {

constexpr const char* kTool = "osprey-classify";

struct Loaded {
  std::string path;
  int width = 0, height = 0;
  double pre_ms = 0;
};

int classify(const CommonOptions& o, int top_k_flag) {
  set_num_threads(o.threads);
  cv::setNumThreads(1);  // OpenCV's TBB pool would fight oneDNN's OpenMP pool for the cores
  auto model = Model::load(o.model, o.load_options());
  const ModelConfig& cfg = model->config();
  const int k = top_k_flag > 0 ? top_k_flag : cfg.postprocess.top_k;

  model->executor().prepare({model->input_shape(o.batch)});  // plan (and JIT) before timing anything

  JsonLines out(o.output);
  int failures = 0;
  const InputList inputs = discover_reporting(kTool, o, out, failures);

  const int total = static_cast<int>(inputs.paths.size());
  Progress progress(total, o.progress && stderr_is_terminal() && total > 1);
  const int per_image = cfg.input.channel_count() * cfg.input.height * cfg.input.width;
  Tensor batch(model->input_shape(o.batch));
  for (int start = 0; start < total; start += o.batch) {
    const int end = std::min(total, start + o.batch);
    // Results are written in input order: an unreadable image keeps its place.
    std::vector<nlohmann::ordered_json> lines(static_cast<size_t>(end - start));
    std::vector<int> slot_line;  // batch slot -> line
    std::vector<Loaded> loaded;
    for (int i = start; i < end; ++i) {
      const std::string& path = inputs.paths[i];
      const auto t0 = Clock::now();
      try {
        const cv::Mat image = load_image(path, cfg.input.channels);
        preprocess(image, cfg.input, batch.data.data() + loaded.size() * per_image);
        loaded.push_back({path, image.cols, image.rows, ms_since(t0)});
        slot_line.push_back(i - start);
      } catch (const InputError& e) {
        lines[i - start] = report_input_error(kTool, path, e.what());
        ++failures;
      }
    }
    if (!loaded.empty()) {
      const int n = static_cast<int>(loaded.size());
      Tensor input(model->input_shape(n));
      std::copy(batch.data.begin(), batch.data.begin() + static_cast<size_t>(n) * per_image, input.data.begin());
      const auto t_infer = Clock::now();
      Tensor logits = model->run(input).at(0);
      const double infer_ms = ms_since(t_infer) / n;
      const int classes = static_cast<int>(logits.shape.at(1));
      for (int i = 0; i < n; ++i) {
        const auto t_post = Clock::now();
        float* row = logits.data.data() + static_cast<size_t>(i) * classes;
        if (cfg.postprocess.softmax) softmax(row, classes);
        nlohmann::ordered_json best = nlohmann::ordered_json::array();
        for (const auto& c : top_k(row, classes, k))
          best.push_back({{"class_id", c.class_id}, {"label", model->label(c.class_id)}, {"score", round_decimals(c.score, 6)}});
        lines[slot_line[i]] = {{"image", loaded[i].path},
                               {"width", loaded[i].width},
                               {"height", loaded[i].height},
                               {"task", "classify"},
                               {"model", cfg.name},
                               {"classes", best},
                               {"ms", {{"pre", round_ms(loaded[i].pre_ms)}, {"infer", round_ms(infer_ms)}, {"post", round_ms(ms_since(t_post))}}}};
      }
    }
    for (const auto& line : lines) out.write(line);
    progress.update(end);
  }
  progress.finish();
  out.commit();
  return failures ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Classify images: prints one JSON line per image with the top-k classes and their scores."};
  CommonOptions options;
  int top_k = 0;
  add_common_flags(app, options);
  app.add_option("-k,--top-k", top_k, "Classes per image (default: the config's, usually 5)")->check(CLI::PositiveNumber);
  return run_tool(kTool, argc, argv, app, [&] { return classify(options, top_k); });
}
