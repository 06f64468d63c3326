# Thin wrapper over CMake; see README.md.
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps build test demo bench bench-ceiling fuzz clean

all: build

deps:
	@.ci/deps.sh

build:
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# ctest's summary, then each Check suite's own summary line (from ctest's log).
test: deps build
	@cd $(BUILD) && rc=0; ctest --output-on-failure -j $(JOBS) $(CTEST_FLAGS) || rc=$$?; \
	echo "Check suites:"; \
	awk '/ Test: /{t=$$3} /^[0-9]+%: Checks:/{printf "  %-28s %s\n", t, $$0}' \
		Testing/Temporary/LastTest.log 2>/dev/null; exit $$rc

demo: deps build
	@bash tests/support/demo.sh $(BUILD)

bench: deps build
	@bash bench/run.sh $(BUILD)

# the ratio to echo the architecture allows, with a pass-through engine
# (bench/ceiling.sh; builds $(BUILD)/ceiling)
bench-ceiling: deps build
	@bash bench/ceiling.sh $(BUILD)

clean:
	rm -rf $(BUILD) build-*
