# mycli — `my` (the CLI) and `my-server` (the reference server).
#   make demo         build, start my-server on a temp SQLite file, walk the sign-in life cycle
#   make test         all tests, the keyring ones against a real gnome-keyring, then the server suite
#                     and the multi-process tests again on a throwaway PostgreSQL (installs test services)
#   make test-pg      only that PostgreSQL half
#   make release      the release binaries; checks for build tools, never installs anything
#   make static       a fully static `my` (target/static/…/release-cli/my)
#   make completions  regenerate the committed man pages and shell completions in dist/
#   make install      PREFIX=/usr/local DESTDIR=  (needs no cargo once built: run `make release` first)
#   make fuzz         every fuzz target for FUZZ_SECONDS (default 60) under libFuzzer (nightly, cargo-fuzz)
#
# For packagers (see README.md, "Packaging"):
#   SYSTEM_LIBS=1   link the system libdbus and SQLite (pkg-config: dbus-1, sqlite3 >= 3.45.3, the
#                   oldest rusqlite 0.43 supports) instead of compiling the bundled copies
#   KEYRING=0       build `my` without the OS keyring store (credentials live in the 0600 file)
#   DEBUGINFO=1     keep symbols and full debug info in the release binaries (debug-symbol packages)

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
DATADIR ?= $(PREFIX)/share
MANDIR ?= $(DATADIR)/man
BASHCOMPDIR ?= $(DATADIR)/bash-completion/completions
ZSHCOMPDIR ?= $(DATADIR)/zsh/site-functions
FISHCOMPDIR ?= $(DATADIR)/fish/vendor_completions.d
CARGO ?= cargo
CARGOFLAGS ?= --locked
SYSTEM_LIBS ?= 0
KEYRING ?= 1
DEBUGINFO ?= 0
BIN := my

# Cargo features from the packager variables: `my` defaults to keyring + bundled-libdbus,
# my-server to bundled-sqlite; pkg-config modules are what a system-library build links.
ifeq ($(SYSTEM_LIBS),1)
MY_FEATURES := --no-default-features $(if $(filter 1,$(KEYRING)),--features keyring)
SERVER_FEATURES := --no-default-features
PKG_MODULES := sqlite3>=3.45.3 $(if $(filter 1,$(KEYRING)),dbus-1)
else
MY_FEATURES := $(if $(filter 1,$(KEYRING)),,--no-default-features)
SERVER_FEATURES :=
PKG_MODULES :=
endif
ifeq ($(DEBUGINFO),1)
RELEASE_FLAGS := $(foreach p,release release-cli,--config 'profile.$(p).strip=false' --config 'profile.$(p).debug=true')
endif

# Flags for the final crate of `my` only (`cargo rustc … --`): with fat LTO it compiles all the
# Rust code, so no dependency is rebuilt for them and build scripts never see them.
#   --cfg my_no_unwind + scripts/no-eh-frame.ld  no unwind tables, no libgcc_s and no backtrace
#       symbolizer, ~0.7 MB (src/no_unwind.rs); DEBUGINFO=1 keeps them, for named backtraces.
#       Not with SYSTEM_LIBS=1: the no-op unwinder is exported, and only a `my` that loads
#       nothing but libc is sure that no library in the process needs the real one.
#   With Rust >= 1.90 on x86_64 Linux, whose linker is rust-lld:
#   -z pack-relative-relocs  `my` stays position-independent (loaded at a random address, as
#       the hardening of every distribution expects) with its 5,400 relative relocations packed
#       into 1.3 KB (DT_RELR) instead of 130 KB; only where the C library is glibc >= 2.36,
#       which applies them (older ones refuse such a binary).
#   --icf=all, -O2  identical functions folded and string tails merged by the linker, 0.06 MB.
#   -enable-machine-outliner  LLVM moves instruction sequences repeated across functions into
#       one shared copy, 0.07 MB; nothing on the start-up path is hot enough to notice the calls.
MY_RUSTC_FLAGS :=
ifeq ($(DEBUGINFO)$(SYSTEM_LIBS),00)
MY_RUSTC_FLAGS += --cfg my_no_unwind -C link-arg=-Wl,-T,$(CURDIR)/scripts/no-eh-frame.ld
endif
RUSTC ?= rustc
RUSTC_VV := $(shell $(RUSTC) -vV 2>/dev/null)
ifneq ($(filter x86_64-unknown-linux-gnu,$(RUSTC_VV)),)
ifeq ($(shell echo '$(filter release: 1.%,$(RUSTC_VV))' | awk -F. '{ print ($$2 >= 90) }'),1)
MY_RUSTC_FLAGS += -C link-arg=-Wl,--icf=all -C link-arg=-Wl,-O2 -C llvm-args=-enable-machine-outliner=always
ifeq ($(shell getconf GNU_LIBC_VERSION 2>/dev/null | awk '{ split($$2, v, "."); print (v[1] > 2 || (v[1] == 2 && v[2] >= 36)) }'),1)
MY_RUSTC_FLAGS += -C link-arg=-Wl,-z,pack-relative-relocs
endif
endif
endif

# The static `my`: glibc's static libc and no position-independent code, so that nothing at all
# is left for a loader (`ldd`: "not a dynamic executable"; a static-pie relocates itself and is
# "statically linked"); RUSTFLAGS from the environment are kept.
STATIC_TARGET := x86_64-unknown-linux-gnu
STATIC_DIR := target/static
STATIC_BIN := $(STATIC_DIR)/$(STATIC_TARGET)/release-cli/$(BIN)

DIST_MAN := dist/man/$(BIN).1 dist/man/my-server.1
DIST_COMPLETIONS := dist/completions/$(BIN).bash dist/completions/_$(BIN) dist/completions/$(BIN).fish

.PHONY: all build release static deps dev-deps test-deps demo test test-pg test-static test-offline bench screenshots \
	check fmt clippy completions install uninstall vendor clean fuzz fuzz-smoke

all: release

# Build targets only check; installing packages is for test and CI machines.
deps:
	@scripts/deps.sh check $(foreach m,$(PKG_MODULES),'$(m)')

# The demo and the tests install what they need (Debian packages), unlike the build targets.
dev-deps:
	@scripts/deps.sh build

test-deps: dev-deps
	@scripts/deps.sh test

build: deps
	$(CARGO) build $(CARGOFLAGS) --workspace

# `my` with the release-cli profile (panic = abort, for size); `my-server` with the release
# profile, which unwinds so one failing request cannot stop the server.
release: deps
	$(CARGO) rustc $(CARGOFLAGS) $(RELEASE_FLAGS) --profile release-cli -p mycli --bin $(BIN) $(MY_FEATURES) -- $(MY_RUSTC_FLAGS)
	$(CARGO) build $(CARGOFLAGS) $(RELEASE_FLAGS) --release -p my-server $(SERVER_FEATURES)

static: deps
	RUSTFLAGS="$(strip $(RUSTFLAGS) -C target-feature=+crt-static -C relocation-model=static)" \
		CARGO_TARGET_DIR=$(STATIC_DIR) \
		$(CARGO) rustc $(CARGOFLAGS) $(RELEASE_FLAGS) --profile release-cli -p mycli --bin $(BIN) --target $(STATIC_TARGET) $(MY_FEATURES) \
		-- $(MY_RUSTC_FLAGS)
	@if readelf -d $(STATIC_BIN) | grep -q NEEDED; then \
		echo "$(STATIC_BIN) still needs shared libraries:" >&2; readelf -d $(STATIC_BIN) | grep NEEDED >&2; exit 1; \
	fi
	@echo "$(STATIC_BIN): static, $$(stat -c %s $(STATIC_BIN)) bytes"

demo: dev-deps build
	@scripts/demo.sh target/debug

# Tests run inside a throwaway D-Bus session with an unlocked gnome-keyring, on SQLite; then
# scripts/test-pg.sh starts a throwaway PostgreSQL cluster and runs the server suite again on
# it (MY_SERVER_TEST_PG), with the end-to-end tests of two my-server processes on one
# database (postgres::, which the first run skips: without a cluster they fail under CI=true).
test: test-deps build
	scripts/with-keyring.sh $(CARGO) test $(CARGOFLAGS) --workspace -- --skip postgres::
	CARGO='$(CARGO)' CARGOFLAGS='$(CARGOFLAGS)' scripts/test-pg.sh

test-pg: test-deps build
	CARGO='$(CARGO)' CARGOFLAGS='$(CARGOFLAGS)' scripts/test-pg.sh

# The keyring end-to-end tests again, with the static `my` (MY_TEST_BIN) in place of the
# debug build; my-server is the debug one.
test-static: test-deps static
	$(CARGO) build $(CARGOFLAGS) --workspace
	MY_TEST_BIN=$(CURDIR)/$(STATIC_BIN) scripts/with-keyring.sh \
		$(CARGO) test $(CARGOFLAGS) --workspace --test e2e -- keyring::

# `cargo build --locked --offline` from a fresh copy of HEAD after `make vendor`.
test-offline:
	scripts/offline-build.sh

# Sizes and start-up (static and dynamic, beside gh and /usr/bin/true), an authenticated
# command against curl, magic link → signed in, the catalog, the server's throughput with wrk
# (docs/BENCHMARKS.md: `scripts/bench.sh --write docs/BENCHMARKS.md`). Installs hyperfine,
# gh and wrk when missing (scripts/deps.sh bench).
bench: release
	@scripts/deps.sh bench
	scripts/bench.sh

# The sign-in, confirm and authorize pages as headless Chromium renders them (docs/).
screenshots: test-deps build
	MY_SCREENSHOT_DIR=$(CURDIR)/docs/screenshots scripts/with-keyring.sh \
		$(CARGO) test $(CARGOFLAGS) -p mycli --test e2e -- --exact browser::web_login_in_a_real_browser_then_one_click_authorize

# Fuzzing (fuzz/): every parser that sees outside input. New inputs go to
# fuzz/target/corpus/<target> (the committed seeds in fuzz/corpus/ stay as they are), crashes
# to fuzz/artifacts/<target>: copy one into fuzz/corpus/<target> to keep it as a regression.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := token jwt_claims credentials_file config_file oauth_replies rest_replies callback_query spec template

fuzz:
	@command -v cargo-fuzz >/dev/null || { echo "make fuzz needs cargo-fuzz (cargo install cargo-fuzz --locked) and a nightly toolchain" >&2; exit 1; }
	cd fuzz && for t in $(FUZZ_TARGETS); do \
		mkdir -p target/corpus/$$t && \
		$(CARGO) +nightly fuzz run $$t target/corpus/$$t corpus/$$t -- -max_total_time=$(FUZZ_SECONDS) || exit 1; \
	done

# The same targets' bodies on their seed corpus (which keeps every past crash), on stable
# and without libFuzzer: what CI runs.
fuzz-smoke:
	$(CARGO) test $(CARGOFLAGS) --manifest-path fuzz/Cargo.toml --lib --no-default-features

check: deps
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy $(CARGOFLAGS) --workspace --all-targets -- -D warnings

# The man pages and completions, generated from the command tree of the debug binaries by
# the test that checks the committed copies (MY_UPDATE_DIST=1 rewrites them instead).
completions: build
	MY_UPDATE_DIST=1 $(CARGO) test $(CARGOFLAGS) -p mycli --test e2e -- dist::dist_files_match_the_command_tree

install: target/release-cli/$(BIN) target/release/my-server $(DIST_MAN) $(DIST_COMPLETIONS)
	install -Dm755 target/release-cli/$(BIN) $(DESTDIR)$(BINDIR)/$(BIN)
	install -Dm755 target/release/my-server $(DESTDIR)$(BINDIR)/my-server
	install -Dm644 dist/man/$(BIN).1 $(DESTDIR)$(MANDIR)/man1/$(BIN).1
	install -Dm644 dist/man/my-server.1 $(DESTDIR)$(MANDIR)/man1/my-server.1
	install -Dm644 dist/completions/$(BIN).bash $(DESTDIR)$(BASHCOMPDIR)/$(BIN)
	install -Dm644 dist/completions/_$(BIN) $(DESTDIR)$(ZSHCOMPDIR)/_$(BIN)
	install -Dm644 dist/completions/$(BIN).fish $(DESTDIR)$(FISHCOMPDIR)/$(BIN).fish

target/release-cli/$(BIN) target/release/my-server:
	$(MAKE) release

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/$(BIN) $(DESTDIR)$(BINDIR)/my-server \
		$(DESTDIR)$(MANDIR)/man1/$(BIN).1 $(DESTDIR)$(MANDIR)/man1/my-server.1 \
		$(DESTDIR)$(BASHCOMPDIR)/$(BIN) $(DESTDIR)$(ZSHCOMPDIR)/_$(BIN) $(DESTDIR)$(FISHCOMPDIR)/$(BIN).fish

# Every dependency's source in vendor/, and .cargo/config.toml pointing cargo at it, so
# `cargo build --locked --offline` needs no network (neither is committed).
vendor:
	mkdir -p .cargo
	$(CARGO) vendor --locked vendor >.cargo/config.toml.new
	mv .cargo/config.toml.new .cargo/config.toml

clean:
	$(CARGO) clean
