#!/usr/bin/env bash
# Installs the Debian packages Osprey needs, only those missing.
#   tools/install_deps.sh build   compiler-side libraries (oneDNN, OpenCV, JSON, CLI11, doctest)
#   tools/install_deps.sh test    plus the PyTorch oracle and the data the tests use
set -euo pipefail

build_pkgs=(
  g++ cmake ninja-build ccache
  libdnnl-dev ocl-icd-opencl-dev            # oneDNN's CMake config requires OpenCL even on CPU
  libopencv-core-dev libopencv-imgproc-dev libopencv-imgcodecs-dev
  nlohmann-json3-dev libcli11-dev doctest-dev
  libprotobuf-dev protobuf-compiler libonnx-dev   # onnx.proto comes from libonnx-dev
)
test_pkgs=(
  python3-torch python3-torchvision python3-numpy python3-pil
  libopenblas0-pthread                      # without it Debian's torch uses reference BLAS (40x slower)
  dataset-fashion-mnist
  python3-onnx libonnx-testdata   # ONNX test models and ONNX's backend node tests
  python3-opencv python3-pyclipper  # PaddleOCR's DB postprocess, ported as the text-box reference
)

pkgs=("${build_pkgs[@]}")
if [[ "${1:-build}" == "test" ]]; then
  pkgs+=("${test_pkgs[@]}")
  # ONNX Runtime, the referee, comes from the npm registry: node and npm are needed
  # (a machine may have them from elsewhere than Debian).
  command -v npm >/dev/null || pkgs+=(nodejs npm)
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "installing: ${missing[*]}" >&2
sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
