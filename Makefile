# Verdict: `make run` serves the demo policies; `make test` runs every test.
# See README.md. Built artefacts go to build/ (git-ignored).

GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
BIN     := build/verdict
BENCHTIME ?= 1s

include mk/guests.mk
include mk/fixtures.mk
include mk/sdks.mk
include mk/kubernetes.mk
include mk/backstage.mk

.PHONY: all build policies fuzz fuzz-short reliability demo demo-test rbac-example rbac-example-test run test test-go vet fmt-check bench clean

all: build policies

build: $(BIN)

$(BIN): go.mod go.sum $(shell find abi host cmd internal -name '*.go' -not -name '*_test.go') cmd/verdict/defaults.yaml
	@mkdir -p $(@D)
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $@ ./cmd/verdict

# Every shipped policy, example and SDK module.
policies: guests sdks

# The demo directory (README, "Quick start"): catalog-owner and a settings-driven allow-list.
demo: guests examples/demo/allow-list.yaml
	@mkdir -p build/demo
	cp build/examples/catalog-owner.wasm build/examples/allow-list.wasm build/demo/
	cp examples/demo/allow-list.yaml build/demo/

run: build demo
	$(BIN) serve --policies build/demo --dev

# Everything CI runs: formatting, vet, fixture sources, guest builds, the
# host's tests with the race detector (they load the built guests), the SDK's
# tests and a short fuzz pass, the guests' native tests, and Backstage's own
# permission client against the binary (mk/backstage.mk).
test: fmt-check vet fixtures-check guests sdks test-go sdk-test guests-test sdks-test demo-test backstage-compat rbac-example-test kubernetes-check fuzz-short

# The demo directory's policy tests, run by the binary as a user would.
demo-test: build demo
	$(BIN) test examples/demo

# The RBAC example (examples/rbac) as a policy directory, and its policy tests.
rbac-example: guests
	@rm -rf build/rbac-example && mkdir -p build/rbac-example
	cp build/policies/rbac.wasm examples/rbac/rbac.yaml build/rbac-example/
	cp -R examples/rbac/rbac.d build/rbac-example/

rbac-example-test: build rbac-example
	$(BIN) test examples/rbac

fuzz-short:
	$(MAKE) fuzz FUZZTIME=5s

test-go:
	VERDICT_REQUIRE_GUESTS=1 $(GO) test -race -count=1 -timeout 30m ./...

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# Every fuzz target of the main module for FUZZTIME each (make fuzz FUZZTIME=10m for a
# long run by hand; make test runs a short pass). Crashers land in the package's
# testdata/fuzz and become regression cases.
# Each run's output is kept in build/fuzz/PKG.TARGET.log (make reliability
# reads the execution counts from there). Go before 1.27 can fail a run that
# merely reached its -fuzztime with a bare "context deadline exceeded"
# (go.dev/issue/75804); such a run, which wrote no failing input, is reported
# and not counted as a failure. Any other failure stops the loop.
# Minimising each new interesting input is bounded too (Go's default, 60 s,
# can spend a short run on one input).
FUZZMINIMIZETIME ?= 5s
FUZZ_PKGS := ./internal/wire ./host/internal/meter ./host/backstage/internal/httpapi ./host/backstage/internal/decisionlog ./host ./host/internal/module
fuzz:
	@rm -rf build/fuzz && mkdir -p build/fuzz
	@for pkg in $(FUZZ_PKGS); do \
		for f in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$pkg/*_test.go | cut -c6-); do \
			log=build/fuzz/$$(basename $$pkg).$$f.log; \
			echo "fuzz $$pkg $$f ($(FUZZTIME))"; \
			$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZETIME) $$pkg > $$log 2>&1 || \
			if grep -q 'Failing input written to' $$log || ! grep -qx '    context deadline exceeded' $$log; then cat $$log; exit 1; \
			else echo "  (ended by Go's fuzz-coordinator deadline race, go.dev/issue/75804: no failing input)"; fi; \
		done; \
	done

# The reliability report (README, "Reliability"): every fuzz target for
# RELIABILITY_FUZZTIME, then the tests at the report's full sizes
# (VERDICT_RELIABILITY=full, no race detector, one package at a time: they
# measure), each figure appended to build/reliability/figures.jsonl; the
# table is printed and written to build/reliability/report.md. Takes about RELIABILITY_FUZZTIME
# times the number of fuzz targets, plus a few minutes.
RELIABILITY_FUZZTIME ?= 30s
reliability: guests sdks
	$(MAKE) fuzz FUZZTIME=$(RELIABILITY_FUZZTIME)
	@rm -rf build/reliability && mkdir -p build/reliability
	VERDICT_RELIABILITY=full VERDICT_RELIABILITY_OUT=$(CURDIR)/build/reliability/figures.jsonl \
		VERDICT_REQUIRE_GUESTS=1 $(GO) test -p 1 -count=1 -timeout 30m ./...
	$(GO) run ./cmd/reliability build/reliability/figures.jsonl build/fuzz/*.log | tee build/reliability/report.md

bench: guests
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./host/...

clean:
	rm -rf build
