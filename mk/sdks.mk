# The C, AssemblyScript and Rust SDKs: each one's conformance module and its
# catalog-owner example, plus the hand-written WAT modules of abi/SPEC.md
# ("Bring your own language"). The host runs the shared corpus against every
# conformance module (host/guests_test.go, TestConformanceModules), so these
# modules must be built before `make test-go`.
#
# Included by the main Makefile; paths are relative to the repository root.
# Standalone: make -f mk/sdks.mk sdks
#
#   sdks          build every module below into build/
#   sdks-test     the SDKs' own checks (sizes) and native unit tests:
#                 sdk-c-test, sdk-rust-test, sdk-as-test
#   sdks-check    say which toolchain is missing, and the package to install
#   sdks-clean    remove the built modules
#
# Toolchains (Debian bookworm; .ci/run installs them):
#   C       clang lld wasi-libc libclang-rt-14-dev-wasm32
#   WAT     wabt
#   Rust    rustc libstd-rust-dev-wasm32 cargo librust-serde-json-dev librust-serde-derive-dev
#           (Debian's, called as /usr/bin/rustc and /usr/bin/cargo: a rustup shim
#           earlier on PATH has no wasm target and cannot download one here)
#   AS      nodejs npm, then npm ci in sdk/assemblyscript (assemblyscript, pinned)
#   C tests libclang-rt-14-dev (AddressSanitizer, UBSan and libFuzzer for host clang)

SDK_BUILD_DIR ?= build
SDK_C_CFLAGS ?= -Os -Wall -Wextra -Werror
WAT2WASM ?= wat2wasm

CLANG ?= clang
SDK_RUSTC ?= /usr/bin/rustc
SDK_CARGO ?= /usr/bin/cargo

SDK_RUST_DIR := sdk/rust
SDK_RUST_TARGET := $(abspath $(SDK_BUILD_DIR))/rust-target
SDK_RUST_OUT := $(SDK_RUST_TARGET)/wasm32-unknown-unknown/release
SDK_RUST_SRCS := $(SDK_RUST_DIR)/Cargo.toml $(SDK_RUST_DIR)/.cargo/config.toml $(wildcard $(SDK_RUST_DIR)/src/*.rs)
SDK_RUST_ENV := RUSTC=$(SDK_RUSTC) CARGO_TARGET_DIR=$(SDK_RUST_TARGET)
NPM ?= npm

SDK_AS_DIR := sdk/assemblyscript
SDK_AS_ASC := $(SDK_AS_DIR)/node_modules/.bin/asc
SDK_AS_SRCS := $(wildcard $(SDK_AS_DIR)/assembly/*.ts) $(SDK_AS_DIR)/asconfig.json
SDK_AS_FLAGS := --config $(SDK_AS_DIR)/asconfig.json --use abort=$(SDK_AS_DIR)/assembly/abort/verdictAbort

SDK_C_DIR := sdk/c
SDK_C_SRCS := $(SDK_C_DIR)/verdict.h $(SDK_C_DIR)/verdict.c
SDK_C_WASI := --target=wasm32-wasi --sysroot=/usr -mexec-model=reactor -mbulk-memory -Wl,--strip-all
SDK_C_FREE := --target=wasm32 -nostdlib -mbulk-memory -Wl,--no-entry -Wl,--export-dynamic -Wl,--strip-all

SDKS_WASM := \
	$(SDK_BUILD_DIR)/sdk/c/conformance.wasm \
	$(SDK_BUILD_DIR)/sdk/c/conformance-freestanding.wasm \
	$(SDK_BUILD_DIR)/examples/c/catalog-owner.wasm \
	$(SDK_BUILD_DIR)/sdk/assemblyscript/conformance.wasm \
	$(SDK_BUILD_DIR)/examples/assemblyscript/catalog-owner.wasm \
	$(SDK_BUILD_DIR)/sdk/rust/conformance.wasm \
	$(SDK_BUILD_DIR)/examples/rust/catalog-owner.wasm \
	$(SDK_BUILD_DIR)/abi/byol/minimal.wasm \
	$(SDK_BUILD_DIR)/abi/byol/conformance.wasm

.PHONY: sdks sdks-test sdks-check sdks-clean sdk-c-check sdk-as-check sdk-rust-check

sdks: sdks-check $(SDKS_WASM)

sdks-check: sdk-c-check sdk-as-check sdk-rust-check
	@command -v $(WAT2WASM) >/dev/null 2>&1 || { echo "$(WAT2WASM) not found: apt-get install wabt"; exit 1; }

sdk-c-check:
	@command -v $(CLANG) >/dev/null 2>&1 || { echo "$(CLANG) not found: apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32"; exit 1; }
	@command -v wasm-ld >/dev/null 2>&1 || { echo "wasm-ld not found: apt-get install lld"; exit 1; }
	@test -f /usr/lib/wasm32-wasi/crt1-reactor.o || { echo "wasi-libc not found: apt-get install wasi-libc"; exit 1; }
	@test -n "$$(ls /usr/lib/llvm-*/lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a 2>/dev/null)" || { echo "clang's wasm32 runtime not found: apt-get install libclang-rt-14-dev-wasm32"; exit 1; }

sdk-as-check:
	@command -v node >/dev/null 2>&1 && command -v $(NPM) >/dev/null 2>&1 || { echo "node or npm not found: apt-get install nodejs npm"; exit 1; }

# The AssemblyScript compiler, pinned by package-lock.json; the stamp records
# that npm ci ran for this lock file.
SDK_AS_STAMP := $(SDK_AS_DIR)/node_modules/.verdict-npm-ci
$(SDK_AS_STAMP): $(SDK_AS_DIR)/package.json $(SDK_AS_DIR)/package-lock.json
	cd $(SDK_AS_DIR) && $(NPM) ci --no-audit --no-fund --loglevel=error
	@touch $@

# as_guest: $(1) output, $(2) entry file.
define as_guest
$(1): $(2) $(SDK_AS_SRCS) $(SDK_AS_STAMP)
	@mkdir -p $$(@D)
	$(SDK_AS_ASC) $(2) $(SDK_AS_FLAGS) --outFile $$@
endef

$(eval $(call as_guest,$(SDK_BUILD_DIR)/sdk/assemblyscript/conformance.wasm,$(SDK_AS_DIR)/conformance/index.ts))
$(eval $(call as_guest,$(SDK_BUILD_DIR)/examples/assemblyscript/catalog-owner.wasm,examples/assemblyscript/catalog-owner/index.ts))

sdk-rust-check:
	@test -x $(SDK_RUSTC) || { echo "$(SDK_RUSTC) not found: apt-get install rustc libstd-rust-dev-wasm32 cargo librust-serde-json-dev librust-serde-derive-dev"; exit 1; }
	@test -x $(SDK_CARGO) || { echo "$(SDK_CARGO) not found: apt-get install cargo librust-serde-json-dev librust-serde-derive-dev"; exit 1; }
	@test -d /usr/lib/rustlib/wasm32-unknown-unknown || { echo "Rust's wasm32 standard library not found: apt-get install libstd-rust-dev-wasm32"; exit 1; }
	@test -n "$$(ls -d /usr/share/cargo/registry/serde_json-* /usr/share/cargo/registry/serde_derive-* 2>/dev/null)" || { echo "serde crates not found: apt-get install librust-serde-json-dev librust-serde-derive-dev"; exit 1; }

# rust_guest: $(1) output, $(2) crate directory, $(3) package, $(4) its .wasm
# name. Cargo runs in the crate's directory so that its .cargo/config.toml
# (offline, Debian's registry, wasm32-unknown-unknown) applies.
define rust_guest
$(1): $(2)/Cargo.toml $(wildcard $(2)/src/*.rs) $(SDK_RUST_SRCS)
	@mkdir -p $$(@D)
	cd $(2) && $(SDK_RUST_ENV) $(SDK_CARGO) build --release --offline -p $(3)
	cp $(SDK_RUST_OUT)/$(4) $$@
endef

$(eval $(call rust_guest,$(SDK_BUILD_DIR)/sdk/rust/conformance.wasm,$(SDK_RUST_DIR)/conformance,verdict-conformance,verdict_conformance.wasm))
$(eval $(call rust_guest,$(SDK_BUILD_DIR)/examples/rust/catalog-owner.wasm,examples/rust/catalog-owner,catalog-owner,catalog_owner.wasm))

# The hand-written modules of abi/SPEC.md "Bring your own language": the
# smallest skeleton (minimal) and the conformance policy (conformance).
$(SDK_BUILD_DIR)/abi/byol/%.wasm: abi/testdata/byol/%.wat
	@mkdir -p $(@D)
	$(WAT2WASM) $< -o $@

# c_guest: $(1) output, $(2) sources, $(3) target flags.
define c_guest
$(1): $(2) $(SDK_C_SRCS)
	@mkdir -p $$(@D)
	$$(CLANG) $(3) $$(SDK_C_CFLAGS) -I$(SDK_C_DIR) -o $$@ $(2) $(SDK_C_DIR)/verdict.c
endef

$(eval $(call c_guest,$(SDK_BUILD_DIR)/sdk/c/conformance.wasm,$(SDK_C_DIR)/conformance/conformance.c,$(SDK_C_WASI)))
$(eval $(call c_guest,$(SDK_BUILD_DIR)/sdk/c/conformance-freestanding.wasm,$(SDK_C_DIR)/conformance/conformance.c,$(SDK_C_FREE)))
$(eval $(call c_guest,$(SDK_BUILD_DIR)/examples/c/catalog-owner.wasm,examples/c/catalog-owner/catalog_owner.c,$(SDK_C_WASI)))

# Native unit tests of the SDKs' JSON readers and writers (each SDK's
# README says what they cover). Built under build/sdk-test.
SDK_TEST_DIR := $(SDK_BUILD_DIR)/sdk-test
SDK_HOST_CC ?= $(CLANG)
SDK_C_TEST_FLAGS ?= -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=all -Wall -Wextra -Werror
# Seconds of libFuzzer on the C SDK's reader in every `make sdks-test`.
SDK_C_FUZZTIME ?= 10
SDK_C_TEST_HDRS := $(SDK_C_SRCS) $(SDK_C_DIR)/test/harness.h

.PHONY: sdk-c-test sdk-c-fuzz sdk-c-test-check sdk-rust-test sdk-as-test

# The C tests need host clang's sanitizer and libFuzzer runtimes.
sdk-c-test-check: sdk-c-check
	@printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; return (int)n & 0; }\n' | \
		$(SDK_HOST_CC) -x c -fsanitize=fuzzer,address,undefined -o /dev/null - >/dev/null 2>&1 || \
		{ echo "$(SDK_HOST_CC) cannot build with -fsanitize=fuzzer,address,undefined: apt-get install libclang-rt-14-dev"; exit 1; }

$(SDK_TEST_DIR)/c/test_conformance: $(SDK_C_DIR)/test/test_conformance.c $(SDK_C_DIR)/conformance/conformance.c $(SDK_C_TEST_HDRS)
	@mkdir -p $(@D)
	$(SDK_HOST_CC) $(SDK_C_TEST_FLAGS) -I$(SDK_C_DIR) -o $@ $(filter %.c,$^)

$(SDK_TEST_DIR)/c/test_policy: $(SDK_C_DIR)/test/test_policy.c $(SDK_C_TEST_HDRS)
	@mkdir -p $(@D)
	$(SDK_HOST_CC) $(SDK_C_TEST_FLAGS) -I$(SDK_C_DIR) -o $@ $(filter %.c,$^)

$(SDK_TEST_DIR)/c/fuzz_evaluate: $(SDK_C_DIR)/test/fuzz_evaluate.c $(SDK_C_DIR)/conformance/conformance.c $(SDK_C_SRCS)
	@mkdir -p $(@D)
	$(SDK_HOST_CC) $(SDK_C_TEST_FLAGS) -fsanitize=fuzzer -I$(SDK_C_DIR) -o $@ $(filter %.c,$^)

sdk-c-test: sdk-c-test-check $(SDK_TEST_DIR)/c/test_conformance $(SDK_TEST_DIR)/c/test_policy
	$(SDK_TEST_DIR)/c/test_conformance
	$(SDK_TEST_DIR)/c/test_policy
	$(MAKE) --no-print-directory sdk-c-fuzz

# libFuzzer on verdict_evaluate for SDK_C_FUZZTIME seconds (make sdk-c-fuzz
# SDK_C_FUZZTIME=600 by hand). New inputs go to build/, seeds are in
# sdk/c/test/corpus; a crasher is written to build/sdk-test/c/crash-*.
sdk-c-fuzz: sdk-c-test-check $(SDK_TEST_DIR)/c/fuzz_evaluate
	@mkdir -p $(SDK_TEST_DIR)/c/corpus
	$(SDK_TEST_DIR)/c/fuzz_evaluate -max_total_time=$(SDK_C_FUZZTIME) -print_final_stats=1 \
		-artifact_prefix=$(SDK_TEST_DIR)/c/ $(SDK_TEST_DIR)/c/corpus $(SDK_C_DIR)/test/corpus \
		>$(SDK_TEST_DIR)/c/fuzz.log 2>&1 || { cat $(SDK_TEST_DIR)/c/fuzz.log; exit 1; }
	@grep -E '^(Done |stat::number_of_executed_units)' $(SDK_TEST_DIR)/c/fuzz.log

# Rust: cargo test on the host target (the crate's config says wasm32).
SDK_RUST_HOST = $(shell $(SDK_RUSTC) -vV 2>/dev/null | sed -n 's/^host: //p')
sdk-rust-test: sdk-rust-check
	cd $(SDK_RUST_DIR) && $(SDK_RUST_ENV) $(SDK_CARGO) test --offline --target $(SDK_RUST_HOST) --workspace --lib

# AssemblyScript: the test policy built by asc, then node's test runner
# against it and the conformance module.
$(SDK_TEST_DIR)/assemblyscript/policy.wasm: $(SDK_AS_DIR)/test/policy.ts $(SDK_AS_SRCS) $(SDK_AS_STAMP)
	@mkdir -p $(@D)
	$(SDK_AS_ASC) $< $(SDK_AS_FLAGS) --outFile $@

sdk-as-test: sdk-as-check $(SDK_TEST_DIR)/assemblyscript/policy.wasm $(SDK_BUILD_DIR)/sdk/assemblyscript/conformance.wasm
	VERDICT_BUILD_DIR=$(abspath $(SDK_BUILD_DIR)) node --test --test-reporter=spec $(SDK_AS_DIR)/test/

# Every SDK module is under 200 KB (issue 6) and imports nothing but the
# host's log and WASI; then each SDK's native tests.
sdks-test: sdks sdk-c-test sdk-rust-test sdk-as-test
	@for f in $(SDKS_WASM); do \
		size=$$(wc -c <$$f); \
		if [ $$size -ge 204800 ]; then echo "$$f: $$size bytes, over 200 KB"; exit 1; fi; \
		printf '%-48s %7d bytes\n' $$f $$size; \
	done

sdks-clean:
	rm -f $(SDKS_WASM)
