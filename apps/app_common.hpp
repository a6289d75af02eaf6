// What every Osprey batch tool shares: the common flags (declared once), the error ->
// exit-code policy, interrupt cleanup, and the JSON-lines output sink.
//
// Exit codes: 0 every input answered; 1 some inputs failed (each named on stderr, the
// others still answered); 2 usage, config or model error.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "io/atomic_file.hpp"
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
};

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

// Milliseconds rounded to 0.01, for the "ms" fields.
double round_ms(double ms);

}  // namespace osprey
