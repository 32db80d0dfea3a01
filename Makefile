# mycli — `my` (the CLI) and `my-server` (the reference server).
#   make demo     build, start my-server on a temp SQLite file, walk the sign-in life cycle
#   make test     all tests, the keyring ones against a real gnome-keyring
#   make install  PREFIX=/usr/local DESTDIR=  (needs no cargo once built: run `make release` first)

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
CARGO ?= cargo
CARGOFLAGS ?= --locked
BIN := my

.PHONY: all build release deps test-deps demo test bench screenshots check fmt clippy install uninstall vendor clean

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
