# The front door. `make run` and `make test` set up everything they need on a fresh
# Debian 12 machine (apt-get), build in Release and run.
BUILD ?= build
JOBS ?= 2
CMAKE_FLAGS ?=

.PHONY: all deps deps-test configure build run test clean

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

# Classifies the Fashion-MNIST test images that ship in photos/ with the LeNet-5 that
# ships in weights/.
run: build
	$(BUILD)/osprey-classify --model configs/lenet5_fashion_mnist.json photos/fashion --top-k 3

test: deps-test build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

clean:
	rm -rf $(BUILD)
