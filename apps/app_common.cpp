#include "app_common.hpp"

#include <unistd.h>

#include <csignal>
#include <iostream>

#include "core/error.hpp"
#include "engine/executor.hpp"

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

nlohmann::ordered_json report_input_error(const char* tool, const std::string& image, const std::string& message) {
  std::cerr << tool << ": " << message << std::endl;
  return {{"image", image}, {"error", message}};
}

double round_ms(double ms) { return std::round(ms * 100.0) / 100.0; }

}  // namespace osprey
