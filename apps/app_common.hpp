// What every Osprey batch tool shares: the common flags (declared once), the error ->
// exit-code policy, interrupt cleanup, and the JSON-lines output sink.
//
// Exit codes: 0 every input answered; 1 some inputs failed (each named on stderr, the
// others still answered); 2 usage, config or model error.
#pragma once

#include <CLI/CLI.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "core/tensor.hpp"
#include "io/atomic_file.hpp"
#include "io/detection_output.hpp"
#include "io/inputs.hpp"
#include "model/model.hpp"

namespace osprey {

struct CommonOptions {
  std::string model;
  std::string weights;
  std::vector<std::string> inputs;
  bool recursive = false;
  int threads = 0;
  int batch = 1;
  std::string output;
  bool progress = true;
  // Preprocessing overrides (for a bare .onnx file, or to change a config's)
  std::vector<int> input_size;
  std::vector<double> mean, std;
  double scale = 0;
  std::string channels, resize, labels;
  int resize_shorter = 0;

  // The overrides as LoadOptions for Model::load.
  LoadOptions load_options() const;
  // The --labels file's names, or `fallback` without one.
  std::vector<std::string> labels_or(const std::vector<std::string>& fallback) const;
};

// Comma-separated flag values ("224,224", "person,dog") are taken as ONE token, so that an
// input path after the flag is not swallowed by it (CLI11 vector options are greedy).
// "1,2,3" -> {1, 2, 3}; a malformed item is a usage error naming the flag.
template <typename T>
std::vector<T> comma_numbers(const std::string& flag, const std::string& text) {
  std::vector<T> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    std::istringstream one(item);
    T v{};
    if (!(one >> v) || !(one >> std::ws).eof()) throw CLI::ValidationError(flag, "expected comma-separated numbers, got '" + text + "'");
    out.push_back(v);
  }
  if (out.empty()) throw CLI::ValidationError(flag, "expected comma-separated numbers, got '" + text + "'");
  return out;
}
std::vector<std::string> comma_items(const std::string& text);

void add_common_flags(CLI::App& app, CommonOptions& options);

// Runs a tool's body and maps what escapes it to the exit-code policy; installs signal
// handlers that delete half-written outputs.
int run_tool(const char* tool, int argc, char** argv, CLI::App& app, const std::function<int()>& body);

// Where the JSON lines go: stdout, or a file written atomically (committed at the end).
class JsonLines {
 public:
  explicit JsonLines(const std::string& path);
  void write(const nlohmann::ordered_json& line);
  void commit();

 private:
  std::unique_ptr<AtomicFile> file_;
  std::ostream* out_;
};

// The inputs named on the command line (ModelError when they name nothing at all); each
// argument that names nothing readable is reported on stderr and in `out`, and counted
// in `failures`.
InputList discover_reporting(const char* tool, const CommonOptions& o, JsonLines& out, int& failures);

// Reports one failed input: a line on stderr now; returns the error object for the JSON stream.
nlohmann::ordered_json report_input_error(const char* tool, const std::string& image, const std::string& message);

// One input image as the batch loop hands it to a tool.
struct LoadedImage {
  std::string path;
  cv::Mat image;  // 8-bit BGR, for drawing and the output sizes
  int64_t coco_id = 0;
  double pre_ms = 0;  // decoding and conversion
};

// Answers each input of a detector or segmenter tool, in batches of o.batch: discovers the
// inputs (discover_reporting), decodes each image, looks up its COCO image id when `coco` is
// given, and calls `check(loaded)` (when given) for a tool's own per-image requirements; an
// InputError in any of these is reported in that input's place. Then `work(batch, images,
// failures)` gets the batch's images also as rgb_tensor (what detectors and segmenters take)
// and returns one line per image (counting what it reports as failed). Lines are written to
// `out` in input order. Returns the number of failed inputs.
using BatchWork = std::function<std::vector<nlohmann::ordered_json>(const std::vector<LoadedImage>& batch,
                                                                    const std::vector<Tensor>& images, int& failures)>;
int for_each_batch(const char* tool, const CommonOptions& o, JsonLines& out, const CocoResults* coco,
                   const std::function<void(const LoadedImage&)>& check, const BatchWork& work);

// Milliseconds rounded to 0.01, for the "ms" fields.
double round_ms(double ms);

// The clock of the "ms" fields, and the milliseconds since `start` on it.
using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point start);

// The name of class `id` in `labels`, or the id as text when there is none.
std::string class_label(const std::vector<std::string>& labels, int id);

// Encodes `image` in the format of the path's extension (.jpg, .png) and writes it
// atomically; InputError naming the path when it cannot be encoded or written.
void write_image(const std::filesystem::path& path, const cv::Mat& image);

}  // namespace osprey
