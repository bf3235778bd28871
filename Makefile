# cartstream — see README.md. Every target works on a fresh clone.

GO           ?= go
BIN          := bin/cartstream
STATICCHECK  := honnef.co/go/tools/cmd/staticcheck@2025.1.1
BENCHSTAT    := golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da
DATA_DIR     ?= ./data
TEST_TIMEOUT ?= 15m
E2E_TIMEOUT  ?= 40m

.PHONY: all build run test test-e2e lint fmt vet staticcheck fuzz bench bench-quick bench-state bench-promo flash-sale loadgen chaos docs deploy-gen clean

all: build

build: ## build bin/cartstream
	$(GO) build -o $(BIN) ./cmd/cartstream

run: build ## embedded stack: broker, processors, HTTP on 127.0.0.1:8080, Kafka on 127.0.0.1:9092
	$(BIN) run --data-dir $(DATA_DIR)

test: ## unit tests and fast end-to-end tests over TCP to the embedded broker
	$(GO) test -timeout $(TEST_TIMEOUT) ./...

test-e2e: build ## multi-process suites: the real binary, kcat, SIGTERM and restarts
	CARTSTREAM_BIN=$(abspath $(BIN)) $(GO) test -tags e2e -count=1 -timeout $(E2E_TIMEOUT) ./e2e/...

lint: fmt vet staticcheck ## gofmt, go vet, staticcheck (pinned)

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...
	$(GO) vet -tags e2e ./e2e/...

staticcheck:
	$(GO) run $(STATICCHECK) ./...
	$(GO) run $(STATICCHECK) -tags e2e ./e2e/...

FUZZTIME ?= 30s
fuzz: ## run every fuzz target for FUZZTIME each
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; done

BENCH_FLAGS ?=
bench: build ## the pipeline benchmark at DESIGN §11's sizes (minutes): broker, goka baseline, pipeline, latency, flash sale, restarts; profiles and plots in .cache/bench, plots also in docs/benchmarks
	$(BIN) bench --docs docs/benchmarks $(BENCH_FLAGS)

bench-quick: build ## the pipeline benchmark with reduced sizes it names (under 2 minutes on 2 cores); ends with a JSON line of every figure
	$(BIN) bench --quick $(BENCH_FLAGS)

bench-state: ## Pebble vs LevelDB storage benchmarks, compared with benchstat
	mkdir -p .cache
	$(GO) test -run '^$$' -bench . -benchtime=200000x -benchmem -count 6 ./state/ | tee .cache/bench-state.txt
	$(GO) run $(BENCHSTAT) -col /impl .cache/bench-state.txt

bench-promo: ## promotion evaluation at 100, 10 000 and 100 000 promotions
	mkdir -p .cache
	$(GO) test ./internal/promo/ -run '^$$' -bench 'Evaluate$$' -benchmem -count 6 | tee .cache/bench-promo.txt
	$(GO) run $(BENCHSTAT) -col /promotions .cache/bench-promo.txt
	$(GO) test ./internal/promo/ -run '^$$' -bench 'EvaluateInterleaved$$' -benchmem -count 6 | tee .cache/bench-promo-interleaved.txt
	$(GO) run $(BENCHSTAT) .cache/bench-promo-interleaved.txt

flash-sale: build ## 10 000 carts check out one SKU of 100 units at once (10% duplicate events); prints the audit's summary
	$(BIN) simulate flash-sale

LOADGEN_RATE     ?= 1000
LOADGEN_DURATION ?= 1m
LOADGEN_FLAGS    ?=
loadgen: build ## launch-day load into `make run` (run it in another terminal first): LOADGEN_RATE cart events/s for LOADGEN_DURATION
	$(BIN) loadgen --rate $(LOADGEN_RATE) --duration $(LOADGEN_DURATION) $(LOADGEN_FLAGS)

CHAOS_DURATION ?= 10m
CHAOS_SEED     ?= 0
CHAOS_FLAGS    ?=
chaos: build ## SIGKILL instances (about every 20 s) and restart the broker twice under checkout load for CHAOS_DURATION, then audit; CHAOS_SEED replays a run
	$(BIN) chaos --duration $(CHAOS_DURATION) --seed $(CHAOS_SEED) $(CHAOS_FLAGS)

docs: build deploy-gen ## regenerate docs/configuration.md, the topology graphs in docs/architecture.md and deploy/kafka/create-topics.sh
	$(BIN) config-docs > docs/configuration.md
	$(BIN) architecture-docs docs/architecture.md

deploy-gen: ## regenerate deploy/kafka/create-topics.sh from topology/ (deploy/deploycheck fails when it is stale)
	$(GO) run ./deploy/deploycheck/gentopics > deploy/kafka/create-topics.sh.tmp
	mv deploy/kafka/create-topics.sh.tmp deploy/kafka/create-topics.sh
	chmod +x deploy/kafka/create-topics.sh

clean:
	rm -rf bin .cache
