# mycli — `my` (the CLI) and `my-server` (the reference server).
#   make demo     build, start my-server on a temp SQLite file, walk the sign-in life cycle
#   make test     all tests, the keyring ones against a real gnome-keyring
#   make install  PREFIX=/usr/local DESTDIR=  (needs no cargo once built: run `make release` first)
#   make fuzz     every fuzz target for FUZZ_SECONDS (default 60) under libFuzzer (nightly, cargo-fuzz)

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
CARGO ?= cargo
CARGOFLAGS ?= --locked
BIN := my

.PHONY: all build release deps test-deps demo test bench screenshots check fmt clippy install uninstall vendor clean fuzz fuzz-smoke

all: release

deps:
	@scripts/deps.sh build

test-deps:
	@scripts/deps.sh test

build: deps
	$(CARGO) build $(CARGOFLAGS) --workspace

# `my` is built for size (panic = abort); `my-server` with the release-server profile, which
# unwinds so one failing request cannot stop the server.
release: deps
	$(CARGO) build $(CARGOFLAGS) --release -p mycli
	$(CARGO) build $(CARGOFLAGS) --profile release-server -p my-server

demo: build
	@scripts/demo.sh target/debug

# Tests run inside a throwaway D-Bus session with an unlocked gnome-keyring.
test: build test-deps
	scripts/with-keyring.sh $(CARGO) test $(CARGOFLAGS) --workspace

# Sizes, start-up, an authenticated command against curl, magic link → signed in, the
# catalog, the server's throughput with wrk (docs/BENCHMARKS.md: `scripts/bench.sh --write
# docs/BENCHMARKS.md`). Installs hyperfine and wrk when missing (scripts/deps.sh bench).
bench: release
	scripts/bench.sh

# The sign-in, confirm and authorize pages as headless Chromium renders them (docs/).
screenshots: build test-deps
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

install: target/release/$(BIN) target/release-server/my-server
	install -Dm755 target/release/$(BIN) $(DESTDIR)$(BINDIR)/$(BIN)
	install -Dm755 target/release-server/my-server $(DESTDIR)$(BINDIR)/my-server

target/release/$(BIN) target/release-server/my-server:
	$(MAKE) release

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/$(BIN) $(DESTDIR)$(BINDIR)/my-server

vendor:
	$(CARGO) vendor --locked vendor

clean:
	$(CARGO) clean
