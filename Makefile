# OTWatch — build, test, benchmark, fuzz, run.
#   make run    start the sensor daemon on the sample captures (web UI URL and admin password printed)
#   make test   install what the tests need (as root), then vet, format check and all tests
SHELL := /bin/bash
GO ?= go
BIN := bin
PKGS := ./...
DEB_PKGS := libpcap-dev tshark tcpreplay iproute2 libndpi-bin bc nmap chromium
FUZZTIME ?= 5m
DECODE_FUZZTIME ?= 10m
BENCH_PACKETS ?= 2000000

.PHONY: all build build-pcap test test-unit test-pcap deps vet fmt-check bench bench-ui fuzz run cross clean ui-assets

all: build

build: ui-assets
	$(GO) build -o $(BIN)/otsensor ./sensor/cmd/otsensor

# The libpcap source (tcpdump filters) needs cgo and libpcap-dev.
build-pcap:
	CGO_ENABLED=1 $(GO) build -tags pcap -o $(BIN)/otsensor-pcap ./sensor/cmd/otsensor

# ui-assets installs the web UI's third-party browser libraries (htmx,
# cytoscape, uPlot) from web/package-lock.json with npm and copies their
# minified builds into the UI's static/vendor/ (git-ignored: no third-party
# code is committed), where the binary embeds them. Without npm or the
# registry it warns and goes on: the UI still builds, without its scripts,
# and the browser tests skip.
UI_VENDOR := sensor/web/ui/static/vendor
UI_FILES := htmx.org/dist/htmx.min.js cytoscape/dist/cytoscape.min.js uplot/dist/uPlot.iife.min.js uplot/dist/uPlot.min.css
ui-assets:
	@if ! command -v npm >/dev/null 2>&1; then echo "ui-assets: WARNING: npm not installed: the UI builds without htmx, cytoscape and uPlot"; exit 0; fi; \
	if [ ! web/node_modules/.package-lock.json -nt web/package-lock.json ]; then \
	  (cd web && npm ci --no-audit --no-fund --loglevel=error) >/tmp/otwatch-npm.log 2>&1 \
	    || { echo "ui-assets: WARNING: npm ci failed (see /tmp/otwatch-npm.log): the UI builds without its libraries"; exit 0; }; \
	fi; \
	for f in $(UI_FILES); do cp -p web/node_modules/$$f $(UI_VENDOR)/ || exit 1; done; \
	for p in htmx.org cytoscape uplot; do cp -p web/node_modules/$$p/LICENSE $(UI_VENDOR)/LICENSE.$$p || exit 1; done

# deps installs the Debian packages the tests use when run as root; without
# root it only reports what is missing (those tests skip with a message).
deps:
	@missing=""; for p in $(DEB_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -z "$$missing" ]; then echo "deps: all present ($(DEB_PKGS))"; \
	elif [ "$$(id -u)" = 0 ]; then echo "deps: installing$$missing"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections 2>/dev/null; \
	  (apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing) >/tmp/otwatch-apt.log 2>&1 \
	    || { echo "deps: apt-get failed, see /tmp/otwatch-apt.log"; tail -20 /tmp/otwatch-apt.log; exit 1; }; \
	else echo "deps: not root, not installing:$$missing (tests that need them will skip)"; fi

vet:
	$(GO) vet $(PKGS)
	$(GO) vet -tags pcap ./sensor/capture/

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# test: everything, with the race detector, plus the libpcap build of the capture package.
test: deps ui-assets vet fmt-check test-unit test-pcap

# test-unit: every package with the race detector; the whole-corpus tshark
# comparisons of sensor/analyze run on a sample under -race (-short) and on
# every capture without it (they exercise no concurrency the other packages'
# race runs miss, and the race detector makes them five times slower).
test-unit: ui-assets
	$(GO) test -race -timeout 20m $$($(GO) list $(PKGS) | grep -v '/sensor/analyze$$')
	$(GO) test -race -short -timeout 10m ./sensor/analyze/
	$(GO) test -timeout 10m ./sensor/analyze/

test-pcap:
	@if dpkg -s libpcap-dev >/dev/null 2>&1; then \
	  CGO_ENABLED=1 $(GO) test -race -tags pcap -timeout 10m ./sensor/capture/ ./sensor/pipeline/; \
	else echo "test-pcap: SKIP: libpcap-dev not installed (make deps as root)"; fi

# bench: packets/s per core for the raw read loop, decode, decode+flows and
# the full analyser on a generated OT capture and on the sample captures,
# with tshark and ndpiReader measured in the same run for ratios.
bench: build
	./scripts/bench.sh $(BENCH_PACKETS)

# bench-ui: issue 6's scale figures: the inventory and alert pages and the
# API lists over HTTPS with 10,000 devices and 100,000 alerts (ms/op, p50,
# p95), then the pages' medians (under 200 ms) and the idle memory (under
# 300 MB). The seeded data directory is cached under $TMPDIR.
bench-ui: ui-assets
	$(GO) test ./sensor/web/ui/ -run '^$$' -bench 'Benchmark(UI|API)' -benchtime 50x -timeout 20m
	OTWATCH_SCALE=1 $(GO) test ./sensor/web/ui/ -run '^TestScaleIdleMemory$$' -count 1 -v -timeout 10m

# fuzz: every fuzz target for FUZZTIME (the decoder for DECODE_FUZZTIME).
fuzz:
	./scripts/fuzz.sh $(FUZZTIME) $(DECODE_FUZZTIME)

# run: until the sensor daemon exists, analyse the sample captures.
# run: the sensor daemon on the sample captures, replayed in a loop at capture
# speed, with a fresh data directory (so the generated admin password is
# printed), HTTPS on $(RUN_LISTEN). Stop with Ctrl-C.
RUN_LISTEN ?= 127.0.0.1:8443
run: build
	@dir=$${RUN_DATA_DIR:-$$(mktemp -d /tmp/otwatch-run.XXXXXX)}; \
	echo "OTWatch sensor: data in $$dir, replaying the sample captures in pcaps/ in a loop"; \
	exec $(BIN)/otsensor run --data-dir "$$dir" --listen $(RUN_LISTEN) --loop \
	  $$(find pcaps -path pcaps/expected -prune -o -type f \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.cap' \) -print | sort | sed 's/^/--pcap /')

cross: ui-assets
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 $(GO) build -o $(BIN)/otsensor-linux-amd64 ./sensor/cmd/otsensor
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -o $(BIN)/otsensor-linux-arm64 ./sensor/cmd/otsensor
	CGO_ENABLED=0 GOOS=linux GOARCH=arm GOARM=7 $(GO) build -o $(BIN)/otsensor-linux-armv7 ./sensor/cmd/otsensor

clean:
	rm -rf $(BIN) .bench
