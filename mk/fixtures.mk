# mk/fixtures.mk: the WAT fixtures under host/testdata/fixtures.
#
#   make fixtures        rebuild every NAME.wasm from its NAME.wat (and
#                        not-wasm.wasm from not-wasm.txt)
#   make fixtures-check  rebuild into a temporary directory and fail if any
#                        committed .wasm differs, or if a .wasm has no source
#
# invalid-NAME.wat fixtures are not valid WebAssembly on purpose (the loader
# must refuse them): they are built with --no-check.
#
# Meant to be included by the top-level Makefile; it also works on its own:
#   make -f mk/fixtures.mk fixtures-check
# The committed binaries were built with wabt 1.0.32; another wat2wasm version
# may encode the same text differently, so fixtures-check warns when it differs.

FIXTURES_DIR      ?= host/testdata/fixtures
WAT2WASM          ?= wat2wasm
WAT2WASM_VERSION  := 1.0.32
FIXTURE_WATS      := $(sort $(wildcard $(FIXTURES_DIR)/*.wat))
FIXTURE_WASMS     := $(FIXTURE_WATS:.wat=.wasm) $(FIXTURES_DIR)/not-wasm.wasm

.PHONY: fixtures fixtures-check

fixtures: $(FIXTURE_WASMS)

$(FIXTURES_DIR)/%.wasm: $(FIXTURES_DIR)/%.wat
	$(WAT2WASM) $< -o $@

$(FIXTURES_DIR)/invalid-%.wasm: $(FIXTURES_DIR)/invalid-%.wat
	$(WAT2WASM) --no-check $< -o $@

# not-wasm.wasm is text on purpose: the loader must refuse it.
$(FIXTURES_DIR)/not-wasm.wasm: $(FIXTURES_DIR)/not-wasm.txt
	cp $< $@

fixtures-check:
	@v=$$($(WAT2WASM) --version); [ "$$v" = "$(WAT2WASM_VERSION)" ] || \
	  echo "fixtures-check: warning: wat2wasm $$v, fixtures were built with $(WAT2WASM_VERSION)"; \
	tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT; status=0; \
	for wat in $(FIXTURE_WATS); do \
	  name=$$(basename "$$wat" .wat); \
	  case "$$name" in invalid-*) check=--no-check;; *) check=;; esac; \
	  $(WAT2WASM) $$check "$$wat" -o "$$tmp/$$name.wasm" || exit 1; \
	  if ! cmp -s "$$tmp/$$name.wasm" "$(FIXTURES_DIR)/$$name.wasm"; then \
	    echo "fixtures-check: $(FIXTURES_DIR)/$$name.wasm differs from its .wat (run make fixtures)"; status=1; \
	  fi; \
	done; \
	if ! cmp -s "$(FIXTURES_DIR)/not-wasm.txt" "$(FIXTURES_DIR)/not-wasm.wasm"; then \
	  echo "fixtures-check: $(FIXTURES_DIR)/not-wasm.wasm differs from not-wasm.txt (run make fixtures)"; status=1; \
	fi; \
	for wasm in $(FIXTURES_DIR)/*.wasm; do \
	  name=$$(basename "$$wasm" .wasm); \
	  if [ "$$name" != not-wasm ] && [ ! -f "$(FIXTURES_DIR)/$$name.wat" ]; then \
	    echo "fixtures-check: $$wasm has no $$name.wat"; status=1; \
	  fi; \
	done; \
	[ $$status -eq 0 ] && echo "fixtures-check: all fixtures up to date"; \
	exit $$status
