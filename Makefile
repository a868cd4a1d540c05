# tickd: the two commands are `make run` and `make test`; both install what
# is missing (Debian 12, as root), configure and build first.

BUILD      ?= build
JOBS       ?= $(shell nproc)
CMAKE_ARGS ?=
WERROR     ?= $(if $(CI),ON,OFF)

.PHONY: all deps build run test test-unit test-asan test-tsan bench clean

all: build

deps:
	@scripts/deps.sh
	@scripts/web-deps.sh $(CURDIR)

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTICKD_WERROR=$(WERROR) $(CMAKE_ARGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

run: build
	@scripts/run-demo.sh $(BUILD)

# Everything: unit and system tests, then the shared-memory core again
# under ASan+UBSan and under TSan.
test: test-unit test-asan test-tsan

test-unit: build
	cd $(BUILD) && ctest --output-on-failure

test-asan: deps
	@cmake -S . -B $(BUILD)-asan -DTICKD_SANITIZE=address -DTICKD_BENCH=OFF -DTICKD_WERROR=$(WERROR) >/dev/null
	@cmake --build $(BUILD)-asan -j $(JOBS)
	cd $(BUILD)-asan && TICKD_TEST_SCALE=small ctest --output-on-failure

test-tsan: deps
	@cmake -S . -B $(BUILD)-tsan -DTICKD_SANITIZE=thread -DTICKD_BENCH=OFF -DTICKD_WERROR=$(WERROR) >/dev/null
	@cmake --build $(BUILD)-tsan -j $(JOBS)
	cd $(BUILD)-tsan && TSAN_OPTIONS="suppressions=$(CURDIR)/tests/tsan.supp halt_on_error=1 history_size=7" \
	  TICKD_TEST_SCALE=small ctest --output-on-failure -L tsan

bench: build
	$(BUILD)/bench/ring
	$(BUILD)/bench/engine
	$(BUILD)/bench/feed
	$(BUILD)/bench/persist
	bench/kafka.sh $(BUILD)
	bench/api.sh $(BUILD)
	bench/ws.sh $(BUILD)
	$(BUILD)/bench/e2e

clean:
	rm -rf $(BUILD) $(BUILD)-asan $(BUILD)-tsan
