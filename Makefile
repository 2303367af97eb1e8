# berth: build, demo, test, bench, install.
PREFIX ?= /usr/local
BERTH := target/x86_64-unknown-linux-gnu/release/berth
CARGO ?= cargo

.PHONY: all build demo test test-unit test-integration bench install clean deps

all: build

build:
	$(CARGO) build --release

# Debian packages the tests and the demo need (busybox-static for the
# container rootfs, python3 for the tests' config edits).
deps:
	@scripts/deps.sh

demo: deps build
	@scripts/demo.sh $(BERTH)

test-unit:
	$(CARGO) test --release 2>&1 | tee target/unit-tests.log

test-integration: build
	integration/run.sh $(BERTH)

# Unit tests, then the end-to-end suite, then one closing total.
test: deps build
	@scripts/test-all.sh $(BERTH)

bench: deps build
	@bench/run.sh $(BERTH)

install: build
	install -D -m 0755 $(BERTH) $(DESTDIR)$(PREFIX)/bin/berth

clean:
	$(CARGO) clean
