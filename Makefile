# The 360X error kit. `make help` lists the targets.

# bash with pipefail, so that a failing command piped into tee fails the target.
SHELL         := bash
.SHELLFLAGS   := -o pipefail -ec

GO            ?= go
STATICCHECK   := honnef.co/go/tools/cmd/staticcheck@v0.8.2
BENCHSTAT     := golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da
# The log store that traceid's tests and make run-stack start on loopback
# (the same version as internal/vlogs.Module).
VICTORIALOGS  := github.com/VictoriaMetrics/VictoriaLogs/app/victoria-logs@v1.52.1
# The exported API is compared with the last release's (make apicheck).
APIDIFF       := golang.org/x/exp/cmd/apidiff@v0.0.0-20261113113407-e3970619a1a4
API_BASELINE  := api/v0.4.0.api
GOBIN         := $(shell $(GO) env GOPATH)/bin
FUZZTIME      ?= 30s
BENCHCOUNT    ?= 10
BENCHTIME     ?= 500ms
# Rounds of the parallel benchmarks: -cpu 2 on a shared machine is the
# noisiest figure of all.
PARCOUNT      ?= 20
LOADTIME      ?= 20s
LOADROUNDS    ?= 20
TRACECOUNT    ?= 5
# Where BenchmarkTraceID keeps its 2.3 GB of generated logs between runs.
TRACEID_BENCH_DIR ?= $(or $(TMPDIR),/tmp)/errkit-traceid-bench
LOADTIME_RECONCILE ?= 30s
LOADRATE      ?= 240
# Lines the scale benchmark of the log store ships to a loopback cluster.
SCALELINES    ?= 20000000
# package:FuzzTarget pairs that `make fuzz` runs, each for FUZZTIME.
FUZZ_TARGETS  := jsonbody:FuzzDecode jsonbody:FuzzDecodeLikeEncodingJSON apierror:FuzzAppendJSON apierror:FuzzRenderer apierror:FuzzParseEnvelope apierror:FuzzReadResponse middleware:FuzzSanitizeRequestID cmd/traceid:FuzzScan cmd/traceid:FuzzParsePaste

# The browser that the console's tests drive (Debian's package).
CHROMIUM      ?= /usr/bin/chromium
# The console's token for make run-stack; a random one when unset.
TRACEID_TOKEN ?=

.PHONY: help run run-stack run-cluster victorialogs python3 chromium screenshots apidiff apicheck api-snapshot docs test lint fuzz bench loadtest

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-13s %s\n", $$1, $$2}'

run: ## build and start the demo server on 127.0.0.1:8080 (flags: make run ARGS="-log-format console")
	$(GO) build -o bin/offers-demo ./cmd/offers-demo
	./bin/offers-demo $(ARGS)

run-stack: victorialogs ## VictoriaLogs on 127.0.0.1:9428, the demo on 127.0.0.1:8080 shipping its log to it, and the support console on 127.0.0.1:8090
	$(GO) build -o bin/offers-demo ./cmd/offers-demo
	$(GO) build -o bin/traceid ./cmd/traceid
	@mkdir -p bin/vlogs-data
	./bin/victoria-logs -httpListenAddr=127.0.0.1:9428 -storageDataPath=bin/vlogs-data -retentionPeriod=30d -inmemoryDataFlushInterval=1s -loggerLevel=ERROR & vl=$$!; \
		token="$(TRACEID_TOKEN)"; [ -n "$$token" ] || token=$$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n'); \
		TRACEID_TOKEN=$$token ./bin/traceid serve -listen 127.0.0.1:8090 -store http://127.0.0.1:9428 & tc=$$!; \
		trap 'kill $$vl $$tc 2>/dev/null' EXIT INT TERM; \
		echo "support console: http://127.0.0.1:8090/  token: $$token"; \
		./bin/offers-demo -vlogs-url http://127.0.0.1:9428 $(ARGS)

# The cluster: two storage nodes, each a plain VictoriaLogs, and a front node
# that spreads the lines over them and asks both at every query; the demo
# ships to the front node, and traceid -store http://127.0.0.1:9428 asks it.
# The nodes run in a session of their own (setsid), so that Ctrl-C reaches
# the demo only. Then the front node gets 2 s to pass on the last lines:
# VictoriaLogs 1.52.1 drops, at SIGTERM, the lines a front node still holds
# (all it took while no storage node was up), instead of sending them; then
# the storage nodes stop (docs/operations.md).
run-cluster: victorialogs ## VictoriaLogs as a cluster on loopback (storage nodes :9491 and :9492, front node :9428) and the demo shipping to the front node
	$(GO) build -o bin/offers-demo ./cmd/offers-demo
	@mkdir -p bin/vlcluster
	setsid ./bin/victoria-logs -httpListenAddr=127.0.0.1:9491 -storageDataPath=bin/vlcluster/storage-1 -retentionPeriod=30d -inmemoryDataFlushInterval=1s -loggerLevel=ERROR & s1=$$!; \
		setsid ./bin/victoria-logs -httpListenAddr=127.0.0.1:9492 -storageDataPath=bin/vlcluster/storage-2 -retentionPeriod=30d -inmemoryDataFlushInterval=1s -loggerLevel=ERROR & s2=$$!; \
		setsid ./bin/victoria-logs -httpListenAddr=127.0.0.1:9428 -storageDataPath=bin/vlcluster/front -retentionPeriod=30d -storageNode=127.0.0.1:9491,127.0.0.1:9492 -loggerLevel=ERROR & fr=$$!; \
		trap 'sleep 2; kill $$fr 2>/dev/null; wait $$fr; kill $$s1 $$s2 2>/dev/null; wait' EXIT; \
		trap 'exit 130' INT TERM; \
		./bin/offers-demo -vlogs-url http://127.0.0.1:9428 $(ARGS)

victorialogs: ## install VictoriaLogs into bin/ (the go command builds it)
	@test -x bin/victoria-logs || GOBIN=$(CURDIR)/bin $(GO) install $(VICTORIALOGS)

chromium: ## install Debian's Chromium, which the console's browser tests drive, unless it is there
	@test -x $(CHROMIUM) || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium)

screenshots: victorialogs chromium ## the console's screenshots in docs/ (docs/console.md shows them), from its browser test
	VICTORIALOGS_BIN=$(CURDIR)/bin/victoria-logs CHROMIUM_BIN=$(CHROMIUM) TRACEID_SCREENSHOTS=$(CURDIR)/docs $(GO) test -count=1 -run '^TestConsoleInABrowser$$' ./cmd/traceid

apidiff: ## install golang.org/x/exp's apidiff into bin/
	@test -x bin/apidiff || GOBIN=$(CURDIR)/bin $(GO) install $(APIDIFF)

apicheck: apidiff ## fail on an incompatible change of the exported API since API_BASELINE that CHANGELOG.md's ## Unreleased does not name
	$(GO) run ./tools/apicheck -apidiff bin/apidiff -baseline $(API_BASELINE)

api-snapshot: apidiff ## at a release: record the API of this commit as api/$(VERSION).api (make api-snapshot VERSION=v0.5.0)
	@test -n "$(VERSION)" || { echo "VERSION=vX.Y.Z is required"; exit 2; }
	bin/apidiff -m -w api/$(VERSION).api github.com/360x/errkit

docs: victorialogs ## regenerate the walkthroughs of docs/demo.md and docs/support.md from runs of the demo and traceid (make test checks them)
	ERRKIT_UPDATE_DOCS=1 $(GO) test -count=1 -run '^TestWalkthrough$$' ./cmd/offers-demo
	VICTORIALOGS_BIN=$(CURDIR)/bin/victoria-logs ERRKIT_UPDATE_DOCS=1 $(GO) test -count=1 -run '^TestSupportWalkthrough$$' ./cmd/traceid

# cmd/probe's tests grade a service written in Python, to show the probe is
# language-agnostic.
python3: ## install Debian's python3, unless there is one
	@command -v python3 >/dev/null || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y python3)

test: victorialogs chromium python3 apicheck ## vet, the API check against the last release, every test with -race (a real VictoriaLogs on loopback and a headless Chromium included), the fuzz seed corpora, allocation counts, a 5 s load-and-reconcile run, the budget checker's test
	$(GO) vet ./...
	VICTORIALOGS_BIN=$(CURDIR)/bin/victoria-logs ERRKIT_REQUIRE_VICTORIALOGS=1 CHROMIUM_BIN=$(CHROMIUM) ERRKIT_REQUIRE_CHROMIUM=1 ERRKIT_REQUIRE_PYTHON=1 $(GO) test -race -count=1 ./...
	$(GO) test -count=1 -run '^TestCost' ./...  # allocation counts, which -race changes
	$(GO) run ./tools/loadtest -duration 5s
	cd bench && $(GO) vet ./... && $(GO) test -count=1 ./budgets

loadtest: ## the demo under vegeta for LOADTIME_RECONCILE (default 30s), every id reconciled with the log
	$(GO) run ./tools/loadtest -duration $(LOADTIME_RECONCILE) -rate $(LOADRATE)

lint: ## go vet and staticcheck
	$(GO) vet ./...
	$(GO) install $(STATICCHECK)
	$(GOBIN)/staticcheck ./...
	cd bench && $(GO) vet ./... && $(GOBIN)/staticcheck ./...

fuzz: ## run each fuzz target for FUZZTIME (default 30s); findings land in testdata/fuzz
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "== $$pkg $$name ($(FUZZTIME))"; \
		$(GO) test ./$$pkg -run='^$$' -fuzz="^$$name\$$" -fuzztime=$(FUZZTIME); \
	done

# The benchmarks run in rounds (BENCHCOUNT for the middleware, TRACECOUNT
# for traceid and grep), each running every stack once: a slow spell of the
# shared machine then touches all stacks alike, rather than the ten runs of
# one.
bench: victorialogs ## benchmarks vs chi, hlog, echo and a naive writer, traceid vs grep, the demo under vegeta, the log store at scale; then the budgets (exit 1 on a miss; see BENCHMARKS.md)
	mkdir -p bench/out
	cd bench && $(GO) test -c -o out/bench.test . && for i in $$(seq $(BENCHCOUNT)); do \
		./out/bench.test -test.run='^$$' -test.bench='Happy|Error|Panic' -test.benchmem -test.benchtime=$(BENCHTIME) -test.timeout=60m || exit 1; \
	done | tee out/bench.txt
	cd bench && for i in $$(seq $(PARCOUNT)); do \
		./out/bench.test -test.run='^$$' -test.bench=Parallel -test.benchmem -test.benchtime=$(BENCHTIME) -test.cpu=1,2 || exit 1; \
	done | tee out/parallel.txt
	$(GO) test -c -o bench/out/traceid.test ./cmd/traceid && for i in $$(seq $(TRACECOUNT)); do \
		TRACEID_BENCH_DIR=$(TRACEID_BENCH_DIR) ./bench/out/traceid.test -test.run='^$$' -test.bench=TraceID -test.benchtime=1x -test.timeout=30m || exit 1; \
	done | tee bench/out/traceid.txt
	$(GO) test -c -o bench/out/jsonbody.test ./jsonbody && for i in $$(seq $(BENCHCOUNT)); do \
		./bench/out/jsonbody.test -test.run='^$$' -test.bench=Decode -test.benchmem -test.benchtime=$(BENCHTIME) || exit 1; \
	done | tee bench/out/jsonbody.txt
	cd bench && $(GO) run ./throughput -duration $(LOADTIME) -rounds $(LOADROUNDS) | tee out/throughput.txt
	VICTORIALOGS_BIN=$(CURDIR)/bin/victoria-logs $(GO) run ./tools/vlscale -lines $(SCALELINES) | tee bench/out/vlscale.txt
	cd bench && cat out/bench.txt out/parallel.txt out/jsonbody.txt > out/all.txt && $(GO) run $(BENCHSTAT) out/all.txt | tee out/benchstat.txt
	cd bench && $(GO) run ./budgets out/bench.txt out/parallel.txt out/traceid.txt out/jsonbody.txt out/throughput.txt | tee out/budgets.txt
