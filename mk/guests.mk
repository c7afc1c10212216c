# Guest modules: the Go SDK's conformance module, the shipped policies and the
# Go examples, each built as a WASI reactor (GOOS=wasip1, -buildmode=c-shared).
#
# Included by the main Makefile; paths are relative to the repository root,
# where make runs. Standalone: make -f mk/guests.mk guests
#
#   guests       build every module below into build/
#   sdk-test     go test the SDK, then a short fuzz pass per fuzz target
#   guests-test  go test the policies and examples natively
#   guests-clean remove the built modules
#
# Every module is its own Go module that points at sdk/go with a replace
# directive and has no other dependency, so no go.sum is needed. GOWORK=off
# keeps a go.work file (if anyone adds one) from changing what gets built.

GO ?= go
GUEST_BUILD_DIR ?= build
FUZZTIME ?= 10s
GUEST_GOFLAGS ?= -trimpath

SDK_GO_DIR := sdk/go
SDK_GO_SRCS := $(SDK_GO_DIR)/go.mod $(shell find $(SDK_GO_DIR) -name '*.go' -not -name '*_test.go' 2>/dev/null)
SDK_GO_FUZZ := $(shell grep -ho '^func Fuzz[A-Za-z0-9_]*' $(SDK_GO_DIR)/*_test.go 2>/dev/null | cut -c6-)

GUEST_POLICIES := allow-all deny-all rbac
GUEST_EXAMPLES := catalog-owner allow-list

GUEST_WASM := \
	$(GUEST_BUILD_DIR)/sdk/conformance.wasm \
	$(GUEST_POLICIES:%=$(GUEST_BUILD_DIR)/policies/%.wasm) \
	$(GUEST_EXAMPLES:%=$(GUEST_BUILD_DIR)/examples/%.wasm)

GUEST_MODULE_DIRS := $(GUEST_POLICIES:%=policies/%) $(GUEST_EXAMPLES:%=examples/go/%)

# go_guest: $(1) output file, $(2) module directory, $(3) package inside it.
# The output depends on the module's non-test Go files, its go.mod and the
# SDK's sources, so editing any of them rebuilds it.
define go_guest
$(1): $(2)/go.mod $(shell find $(2) -name '*.go' -not -name '*_test.go' 2>/dev/null) $(SDK_GO_SRCS)
	@mkdir -p $$(@D)
	cd $(2) && GOWORK=off GOOS=wasip1 GOARCH=wasm $$(GO) build -buildmode=c-shared $$(GUEST_GOFLAGS) -o $$(abspath $$@) $(3)
endef

$(eval $(call go_guest,$(GUEST_BUILD_DIR)/sdk/conformance.wasm,$(SDK_GO_DIR),./conformance/cmd))
$(foreach p,$(GUEST_POLICIES),$(eval $(call go_guest,$(GUEST_BUILD_DIR)/policies/$(p).wasm,policies/$(p),.)))
$(foreach e,$(GUEST_EXAMPLES),$(eval $(call go_guest,$(GUEST_BUILD_DIR)/examples/$(e).wasm,examples/go/$(e),.)))

.PHONY: guests sdk-test guests-test guests-clean

guests: $(GUEST_WASM)

sdk-test:
	cd $(SDK_GO_DIR) && GOWORK=off $(GO) test ./...
	cd $(SDK_GO_DIR) && for f in $(SDK_GO_FUZZ); do \
		GOWORK=off $(GO) test -run '^$$' -fuzz="^$$f$$" -fuzztime=$(FUZZTIME) . || exit 1; \
	done

guests-test:
	for d in $(GUEST_MODULE_DIRS); do (cd $$d && GOWORK=off $(GO) vet ./... && GOWORK=off $(GO) test ./...) || exit 1; done

guests-clean:
	rm -f $(GUEST_WASM)
