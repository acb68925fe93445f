# Two entry points: `make run` (narrated demo on the embedded default) and `make test` (the suite).
SWIFT ?= swift
export PATH := /opt/swift/usr/bin:$(PATH)

.PHONY: run test deps build release bench clean

deps:
	@./scripts/install-deps.sh

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

run: build
	@./scripts/demo.sh .build/debug/sandboxer

# Builds every product first (the plugins are dynamic libraries the tests dlopen; any compiler warning
# fails), runs the Swift suite, `sandboxer plugin check` on every plugin, bounded fuzz runs (HTTP request parser, protobuf codec), the provider
# stand-ins against their official clients, then real clients (requests, curl, schemathesis) against a
# live `sandboxer serve`; then the release build as it ships (the host and LocalVM carry the Swift
# runtime inside): warning-free, plugin check on every plugin, the real-client suite against it.
test: deps
	./scripts/build-warning-free.sh
	$(SWIFT) test --skip-build
	./scripts/standin-tests.sh
	./scripts/plugin-check.sh
	./fuzz/run.sh 20
	./scripts/python-tests.sh
	./scripts/release-check.sh

# Every bench script, then one table of rows (measured, baseline, ratio, goal); non-zero when a goal
# is missed. `make bench BENCH="localvm http"` runs only those.
bench: release
	./bench/run.sh $(BENCH)

clean:
	rm -rf .build
