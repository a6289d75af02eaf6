#include "app_common.hpp"

#include <unistd.h>

#include <csignal>
#include <fstream>
#include <sstream>
#include <opencv2/imgcodecs.hpp>
#include <iostream>

#include "core/decimal.hpp"
#include "core/error.hpp"
#include "engine/executor.hpp"
#include "io/image.hpp"
#include "io/progress.hpp"

namespace osprey {

void add_common_flags(CLI::App& app, CommonOptions& o) {
  app.add_option("-m,--model", o.model, "Model config (JSON)")->required();
  app.add_option("inputs", o.inputs,
                 "Images: files, directories, glob patterns, @list.txt (one path per line) or - (paths on stdin)")
      ->required();
  app.add_option("--weights", o.weights, "Weights file (safetensors), instead of the config's");
  app.add_flag("-r,--recursive", o.recursive, "Descend into subdirectories of directory inputs");
  app.add_option("-t,--threads", o.threads, "Compute threads (default: all cores)")->check(CLI::NonNegativeNumber);
  app.add_option("-b,--batch", o.batch, "Images per forward pass")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("-o,--output", o.output, "Write the JSON lines to this file (atomically) instead of stdout");
  app.add_flag("!--no-progress", o.progress, "Never show the progress line (shown on a terminal by default)");
  auto* pre = "Preprocessing (overrides the config; for a bare .onnx file)";
  // Comma-separated lists are one token each, so a path after the flag stays an input.
  app.add_option_function<std::string>("--input-size", [&o](const std::string& v) { o.input_size = comma_numbers<int>("--input-size", v); },
                                       "Network input H,W (or one number)")->group(pre);
  app.add_option("--channels", o.channels, "rgb, bgr or gray")->group(pre);
  app.add_option("--resize", o.resize, "shorter_side_crop or stretch")->group(pre);
  app.add_option("--resize-shorter", o.resize_shorter, "Shorter side before the centre crop")->group(pre);
  app.add_option("--scale", o.scale, "Factor on 8-bit pixels before mean/std (e.g. 0.00392156862745098)")->group(pre);
  app.add_option_function<std::string>("--mean", [&o](const std::string& v) { o.mean = comma_numbers<double>("--mean", v); },
                                       "Per-channel mean, comma-separated")->group(pre);
  app.add_option_function<std::string>("--std", [&o](const std::string& v) { o.std = comma_numbers<double>("--std", v); },
                                       "Per-channel std, comma-separated")->group(pre);
  app.add_option("--labels", o.labels, "Labels file, one name per line")->group(pre);
}

LoadOptions CommonOptions::load_options() const {
  nlohmann::json input = nlohmann::json::object();
  if (!input_size.empty()) input["size"] = input_size.size() == 1 ? nlohmann::json(input_size[0]) : nlohmann::json(input_size);
  if (!channels.empty()) input["channels"] = channels;
  if (!resize.empty()) input["resize"] = resize;
  if (resize_shorter > 0) input["resize_shorter"] = resize_shorter;
  if (scale > 0) input["scale"] = scale;
  if (!mean.empty()) input["mean"] = mean;
  if (!std.empty()) input["std"] = std;
  LoadOptions options;
  options.weights = weights;
  options.input_json = input.empty() ? "" : input.dump();
  options.labels_file = labels;
  return options;
}

std::vector<std::string> comma_items(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

std::vector<std::string> CommonOptions::labels_or(const std::vector<std::string>& fallback) const {
  if (labels.empty()) return fallback;
  std::ifstream in(labels);
  if (!in) throw ModelError(cat("--labels: cannot open ", labels));
  std::vector<std::string> names;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) names.push_back(line);
  }
  if (names.empty()) throw ModelError(cat("--labels: ", labels, " has no names"));
  return names;
}

namespace {
void on_signal(int sig) {
  remove_pending_atomic_files();
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}
}  // namespace

int run_tool(const char* tool, int argc, char** argv, CLI::App& app, const std::function<int()>& body) {
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << tool << ": " << e.what() << " (see --help)\n";
    return 2;
  }
  try {
    return body();
  } catch (const ModelError& e) {
    std::cerr << tool << ": error: " << e.what() << "\n";
  } catch (const InputError& e) {
    std::cerr << tool << ": error: " << e.what() << "\n";
  } catch (const std::exception& e) {
    std::cerr << tool << ": error: " << e.what() << "\n";
  }
  return 2;
}

JsonLines::JsonLines(const std::string& path) : out_(&std::cout) {
  if (!path.empty()) {
    file_ = std::make_unique<AtomicFile>(path);
    out_ = &file_->stream();
  }
}

void JsonLines::write(const nlohmann::ordered_json& line) {
  *out_ << line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << '\n';
  if (!file_) out_->flush();
}

void JsonLines::commit() {
  if (file_) file_->commit();
}

InputList discover_reporting(const char* tool, const CommonOptions& o, JsonLines& out, int& failures) {
  InputList inputs = discover_inputs(o.inputs, o.recursive);
  if (inputs.paths.empty() && inputs.errors.empty()) throw ModelError("no input images found");
  for (const auto& e : inputs.errors) {
    out.write(report_input_error(tool, e.substr(0, e.find(':')), e));
    ++failures;
  }
  return inputs;
}

nlohmann::ordered_json report_input_error(const char* tool, const std::string& image, const std::string& message) {
  std::cerr << tool << ": " << message << std::endl;
  return {{"image", image}, {"error", message}};
}

double round_ms(double ms) { return round_decimals(ms, 2); }

int for_each_batch(const char* tool, const CommonOptions& o, JsonLines& out, const CocoResults* coco,
                   const std::function<void(const LoadedImage&)>& check, const BatchWork& work) {
  int failures = 0;
  const InputList inputs = discover_reporting(tool, o, out, failures);
  const int total = static_cast<int>(inputs.paths.size());
  Progress progress(total, o.progress && stderr_is_terminal() && total > 1);
  for (int start = 0; start < total; start += o.batch) {
    const int end = std::min(total, start + o.batch);
    // Results are written in input order: an unreadable image keeps its place.
    std::vector<nlohmann::ordered_json> lines(static_cast<size_t>(end - start));
    std::vector<int> line_of;  // batch slot -> line
    std::vector<LoadedImage> loaded;
    std::vector<Tensor> images;
    for (int i = start; i < end; ++i) {
      const std::string& path = inputs.paths[static_cast<size_t>(i)];
      try {
        const auto t0 = Clock::now();
        LoadedImage l{path, load_image(path, ChannelOrder::BGR), coco ? coco->image_id(path) : 0, 0};
        if (check) check(l);
        images.push_back(rgb_tensor(l.image));
        l.pre_ms = ms_since(t0);
        loaded.push_back(std::move(l));
        line_of.push_back(i - start);
      } catch (const InputError& e) {
        lines[static_cast<size_t>(i - start)] = report_input_error(tool, path, e.what());
        ++failures;
      }
    }
    if (!loaded.empty()) {
      std::vector<nlohmann::ordered_json> done = work(loaded, images, failures);
      for (size_t n = 0; n < done.size(); ++n) lines[static_cast<size_t>(line_of[n])] = std::move(done[n]);
    }
    for (const auto& line : lines) out.write(line);
    progress.update(end);
  }
  progress.finish();
  return failures;
}

double ms_since(Clock::time_point start) { return std::chrono::duration<double, std::milli>(Clock::now() - start).count(); }

std::string class_label(const std::vector<std::string>& labels, int id) {
  return id >= 0 && id < static_cast<int>(labels.size()) ? labels[static_cast<size_t>(id)] : std::to_string(id);
}

void write_image(const std::filesystem::path& path, const cv::Mat& image) {
  std::vector<uchar> bytes;
  if (!cv::imencode(path.extension().string(), image, bytes)) throw InputError(cat(path.string(), ": cannot encode the image"));
  write_file_atomically(path.string(), std::string(bytes.begin(), bytes.end()));
}

}  // namespace osprey
