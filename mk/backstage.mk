# Backstage compatibility (examples/backstage/compat): Backstage's own
# PermissionClient (@backstage/plugin-permission-common) and permission
# integration router (@backstage/plugin-permission-node), pinned by
# package-lock.json, against the real build/verdict serving the
# catalog-owner and allow-list examples.
#
# Included by the main Makefile (it uses its build target and BIN, and the
# guests of mk/guests.mk); paths are relative to the repository root.
#
#   backstage-compat   npm ci (only when package.json or package-lock.json
#                      changed), then the test with node --test
#
# Needs node and npm (.ci/run installs Debian's when missing) and the npm
# registry for the first npm ci. Nothing leaves loopback while it runs.

NPM  ?= npm
NODE ?= node

BACKSTAGE_COMPAT_DIR   := examples/backstage/compat
BACKSTAGE_COMPAT_STAMP := $(BACKSTAGE_COMPAT_DIR)/node_modules/.verdict-npm-ci

.PHONY: backstage-compat

# The stamp records that npm ci ran for this lock file.
$(BACKSTAGE_COMPAT_STAMP): $(BACKSTAGE_COMPAT_DIR)/package.json $(BACKSTAGE_COMPAT_DIR)/package-lock.json
	@command -v $(NODE) >/dev/null 2>&1 && command -v $(NPM) >/dev/null 2>&1 || { echo "node or npm not found: apt-get install nodejs npm"; exit 1; }
	cd $(BACKSTAGE_COMPAT_DIR) && $(NPM) ci --no-audit --no-fund --loglevel=error
	@touch $@

backstage-compat: build guests $(BACKSTAGE_COMPAT_STAMP)
	cd $(BACKSTAGE_COMPAT_DIR) && VERDICT_BIN=$(abspath $(BIN)) \
		VERDICT_EXAMPLES_WASM=$(abspath $(GUEST_BUILD_DIR))/examples \
		$(NODE) --test --test-reporter=spec compat.test.js
