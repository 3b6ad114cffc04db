// Ferry's layer rules (docs/architecture.md, "Layers"), checked in `make test` by dependency-cruiser.
//
//   base        src/ libraries (config, xds, mesh, observability, errors, …) and certs/: know no component
//   components  sidecar/, webhook/, src/controller/: never import one another, only the base
//   root        src/cli/ and bin/: the only place that wires components together
// Test code (test/, *.test.ts, *.fixture.ts), the benchmark harness (bench/) and the chaos suite (reliability/) may import anything;
// production code never imports test code.

const BASE = '^(src/(?!cli/|controller/)|certs/)';
const COMPONENTS = { sidecar: '^sidecar/', webhook: '^webhook/', controller: '^src/controller/' };
const ROOT = '^(src/cli/|bin/)';
const TEST_CODE = '(^test/|\\.test\\.ts$|\\.fixture\\.ts$)';

// The sidecar's rooms in data-path order, top to bottom: a room may import rooms below it, never one above.
// (The wiring — proxy.ts, admin/, xds/, agent/ — sits above all of them; tls/, identity/, http/ are shared below.)
const DATA_PATH = ['listener', 'tcp', 'connection-manager', 'filters', 'router', 'cluster', 'lb', 'upstream'];
const dataPathRules = DATA_PATH.slice(1).map((room, i) => ({
  name: `sidecar-${room}-imports-nothing-above-it`,
  comment: `sidecar/${room}/ is below ${DATA_PATH.slice(0, i + 1).join(', ')} on the data path: it never imports them.`,
  severity: 'error',
  from: { path: `^sidecar/${room}/`, pathNot: TEST_CODE },
  to: { path: [`^sidecar/(${DATA_PATH.slice(0, i + 1).join('|')})/`, '^sidecar/(proxy\\.ts|admin/|xds/|agent/)'] },
}));

const componentRules = Object.entries(COMPONENTS).map(([name, path]) => ({
  name: `${name}-imports-no-other-component`,
  comment: `${name} is a component: it may import the base, never another component or the composition root.`,
  severity: 'error',
  from: { path, pathNot: TEST_CODE },
  to: { path: [...Object.values(COMPONENTS).filter((p) => p !== path), ROOT] },
}));

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'No import cycles, type-only imports included.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'base-imports-no-component',
      comment: 'The base (src/ libraries, certs/) knows no component and not the composition root.',
      severity: 'error',
      from: { path: BASE, pathNot: TEST_CODE },
      to: { path: [...Object.values(COMPONENTS), ROOT] },
    },
    ...componentRules,
    ...dataPathRules,
    {
      name: 'production-imports-no-test-code',
      comment: 'Test helpers, fixtures and tests are never imported by production code (bench/ and reliability/ are harnesses, like test/).',
      severity: 'error',
      from: { pathNot: [TEST_CODE, '^bench/', '^reliability/'] },
      to: { path: TEST_CODE },
    },
    {
      name: 'production-imports-no-dev-dependency',
      comment: 'Production code runs with production dependencies only.',
      severity: 'error',
      from: { path: '^(src|sidecar|webhook|certs|bin)/', pathNot: TEST_CODE },
      to: { dependencyTypes: ['npm-dev'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
