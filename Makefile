# berth: build, demo, test, bench, install.
PREFIX ?= /usr/local
BERTH := target/x86_64-unknown-linux-gnu/release/berth
CARGO ?= cargo

.PHONY: all build static demo soak test-engines test-systemd test-k8s test test-unit test-integration test-vm bench man install uninstall deb clean deps fuzz

all: build

build:
	$(CARGO) build --release

# The release build is already static (.cargo/config.toml: crt-static; LTO,
# codegen-units=1, panic=abort, strip in Cargo.toml); this says so.
static: build
	@ldd $(BERTH) 2>&1 | sed 's|^|$(BERTH): |'
	@echo "$(BERTH): $$(stat -c %s $(BERTH)) bytes"

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

# The suite and the cgroup v2 tests in a pure cgroup v2 VM (qemu, TCG).
# RUNTIME=runc or RUNTIME=crun runs the same tests against Debian's runc or
# crun instead of berth (berth still makes the bundles).
RUNTIME ?= $(or $(BERTH_VM_RUNTIME),berth)
test-vm: build
	BERTH_VM_RUNTIME=$(RUNTIME) integration/vm/run.sh $(BERTH)

# Unit tests, the end-to-end suite, the VM, then one closing total.
test: deps build
	@scripts/test-all.sh $(BERTH)

# berth under Podman, Docker and containerd (from Debian's packages), each
# scenario also with runc as the control.
test-engines: build
	integration/engines/run.sh $(BERTH)

# The systemd cgroup driver and Docker, Podman and containerd in their
# default configuration, in a Debian 12 guest with systemd as PID 1 (pure
# cgroup v2, then hybrid), each with runc as the control. The guest image
# is built once into /var/tmp/berth-systemd (~4 minutes).
test-systemd: build
	integration/systemd/run.sh $(BERTH)

# berth as a Kubernetes node's runtime: kubelet's CRI calls from berth's
# own CRI client (integration/k8s/, a crate of its own) to a private
# containerd with runtime handlers berth and runc (the control).
test-k8s: build
	integration/k8s/run.sh $(BERTH)

# The fault-injection test in full (1,000 SIGKILL cycles; `make test` runs
# 25) and the concurrency tests.
soak: deps build
	FAULT_CYCLES=1000 ITEST_TIMEOUT=3600 integration/run.sh $(BERTH) '^test_(faults_|robust_)'

# The cargo-fuzz targets (fuzz/), each for FUZZ_SECONDS in turn; needs a
# nightly toolchain and cargo-fuzz. A crash stops it (scripts/fuzz.sh).
FUZZ_SECONDS ?= 900
FUZZ_TARGETS ?= config exec_process state seccomp mount_options
fuzz:
	@scripts/fuzz.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

bench: deps build
	@bench/run.sh $(BERTH)

# The man pages (berth.8, berth-COMMAND.8), made by berth itself from the
# same definitions as its parser, into target/man.
man: build
	rm -rf target/man && $(BERTH) man target/man

# The binary, man pages and bash, zsh and fish completions under PREFIX
# (DESTDIR for staging; ZSH_COMPLETIONS_DIR, default
# $(PREFIX)/share/zsh/vendor-completions, where your zsh looks).
install: build
	scripts/stage.sh $(BERTH) "$(DESTDIR)" $(PREFIX)

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/berth $(DESTDIR)$(PREFIX)/share/man/man8/berth.8 \
		$(DESTDIR)$(PREFIX)/share/man/man8/berth-*.8 \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/berth \
		$(DESTDIR)$(or $(ZSH_COMPLETIONS_DIR),$(PREFIX)/share/zsh/vendor-completions)/_berth \
		$(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/berth.fish

# A Debian package (dpkg-deb): target/berth_VERSION_amd64.deb.
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
deb: build
	scripts/deb.sh $(BERTH) target/berth_$(VERSION)_amd64.deb

clean:
	$(CARGO) clean
