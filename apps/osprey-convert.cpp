// osprey-convert: an ONNX file -> an Osprey model directory: <name>.json (a config with
// an explicit layer graph) and <name>.safetensors (its weights). Every Osprey tool then
// loads the config like any other; the .onnx file is no longer needed. Both files appear
// or neither does.
#include <unistd.h>

#include <array>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "app_common.hpp"
#include "core/error.hpp"
#include "io/atomic_file.hpp"
#include "model/convert.hpp"

using namespace osprey;
namespace fs = std::filesystem;

namespace {

constexpr const char* kTool = "osprey-convert";

struct Options {
  std::string model, output_dir, name, input_size;
};

// Temporary files to delete when interrupted (fixed storage: read by a signal handler).
constexpr size_t kMaxTemporary = 4;
char temporary[kMaxTemporary][4096];

void on_signal(int sig) {
  for (auto& t : temporary)
    if (t[0]) ::unlink(t);
  remove_pending_atomic_files();
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

std::array<int, 2> parse_size(const std::string& text) {
  std::array<int, 2> size{0, 0};
  if (text.empty()) return size;
  const auto comma = text.find(',');
  try {
    size_t used = 0;
    size[0] = std::stoi(text, &used);
    if (comma == std::string::npos) {
      if (used != text.size()) throw std::invalid_argument(text);
      size[1] = size[0];
    } else {
      if (used != comma) throw std::invalid_argument(text);
      const std::string rest = text.substr(comma + 1);
      size[1] = std::stoi(rest, &used);
      if (used != rest.size()) throw std::invalid_argument(text);
    }
  } catch (const std::logic_error&) {
    throw ModelError(cat("--input-size: expected H,W (for example 224,224), got '", text, "'"));
  }
  if (size[0] <= 0 || size[1] <= 0) throw ModelError(cat("--input-size: sizes must be positive, got '", text, "'"));
  return size;
}

int convert(const Options& o) {
  ConvertOptions options;
  options.name = o.name;
  options.input_size = parse_size(o.input_size);
  const ConvertedModel model = convert_onnx(o.model, options);

  const ConvertedFiles files = converted_files(o.output_dir, model.name);
  for (size_t i = 0; i < files.temporary.size() && i < kMaxTemporary; ++i)
    if (files.temporary[i].size() < sizeof temporary[i]) std::snprintf(temporary[i], sizeof temporary[i], "%s", files.temporary[i].c_str());
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  write_converted(model, o.output_dir);

  if (!model.batch_warning.empty())
    std::cerr << kTool << ": warning: " << model.batch_warning << "; the converted model runs at batch 1 only" << std::endl;
  const Shape& in = model.input;
  std::cout << kTool << ": wrote " << files.config << " and " << files.weights << ": " << model.layers << (model.layers == 1 ? " layer, " : " layers, ")
            << model.parameters << " parameters, input " << in[1] << "x" << in[2] << "x" << in[3]
            << "; preprocessing is a placeholder (channels " << (in[1] == 1 ? "gray" : "rgb")
            << ", stretch resize, scale 1, mean 0, std 1): edit \"input\" in the config to match how the model was trained"
            << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Convert an ONNX model into an Osprey model: DIR/NAME.json (config with the layer graph) and DIR/NAME.safetensors."};
  Options o;
  app.add_option("model", o.model, "ONNX file")->required();
  app.add_option("-o,--output-dir", o.output_dir, "Directory for the config and the weights (created if missing)")->required();
  app.add_option("--name", o.name, "Model name: file stem and config name (default: the ONNX file's stem)");
  app.add_option("--input-size", o.input_size, "H,W of the input, for files that leave it open (e.g. 224,224)");
  return run_tool(kTool, argc, argv, app, [&] { return convert(o); });
}
