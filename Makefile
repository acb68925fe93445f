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

# Builds every product first (the plugins are dynamic libraries the tests dlopen), runs the Swift
# suite, a bounded fuzz run of the HTTP request parser, then real clients (requests, curl,
# schemathesis) against a live `sandboxer serve`.
test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build
	./fuzz/run.sh 20
	./scripts/python-tests.sh

bench: release
	./bench/expire.sh
	./bench/localvm.sh
	./bench/http.sh

clean:
	rm -rf .build
