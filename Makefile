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

.PHONY: all build policies fuzz fuzz-short demo demo-test rbac-example rbac-example-test run test test-go vet fmt-check bench clean

all: build policies

build: $(BIN)

$(BIN): go.mod go.sum $(shell find abi host cmd -name '*.go' -not -name '*_test.go') cmd/verdict/defaults.yaml
	@mkdir -p $(@D)
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $@ ./cmd/verdict

# Every shipped policy, example and SDK module.
policies: guests sdks

# The demo directory of DESIGN §14: catalog-owner and a settings-driven allow-list.
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
	VERDICT_REQUIRE_GUESTS=1 $(GO) test -race -count=1 ./...

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# Every fuzz target of the main module for FUZZTIME each (make fuzz FUZZTIME=10m for a
# long run by hand; make test runs a short pass). Crashers land in the package's
# testdata/fuzz and become regression cases.
FUZZ_PKGS := ./abi ./host/internal/meter ./host/httpapi ./host/decisionlog
fuzz:
	@for pkg in $(FUZZ_PKGS); do \
		for f in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$pkg/*_test.go | cut -c6-); do \
			echo "fuzz $$pkg $$f ($(FUZZTIME))"; \
			$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg > /tmp/verdict-fuzz.log 2>&1 || { cat /tmp/verdict-fuzz.log; exit 1; }; \
		done; \
	done

bench: guests
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./host/...

clean:
	rm -rf build
