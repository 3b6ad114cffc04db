// The `ferry` command: dispatches subcommands and turns errors into a message and an exit code.

import { FerryError } from '../errors';
import { proxyCommand, PROXY_USAGE } from './proxy-command';

// Subcommands other than `proxy` are loaded on first use, so the sidecar does not carry the PKI,
// controller and webhook code in memory.
/* eslint-disable @typescript-eslint/no-require-imports */
const lazy = {
  demo: (): typeof import('./demo/demo-command') => require('./demo/demo-command'),
  mesh: (): typeof import('./mesh-commands') => require('./mesh-commands'),
  controller: (): typeof import('../controller/command') => require('../controller/command'),
  agent: (): typeof import('../../sidecar/agent/commands') => require('../../sidecar/agent/commands'),
  ca: (): typeof import('../controller/ca/ca-command') => require('../controller/ca/ca-command'),
  up: (): typeof import('./up/up-command') => require('./up/up-command'),
  stat: (): typeof import('./stat/stat-command') => require('./stat/stat-command'),
  check: (): typeof import('./check/check-command') => require('./check/check-command'),
};

const USAGE = `ferry — a service mesh

usage: ferry <command> [flags]

commands:
  proxy      run the sidecar proxy from an Envoy v3 bootstrap file
  up         run Kubernetes manifests as an injected, mTLS mesh on this machine (ferry up -f FILE|DIR)
  demo       run the shop as a local mesh with traffic, then show injection, mTLS and metrics
  controller run the mesh controller: registry → xDS v3 (ADS) for sidecars, Envoy and gRPC clients
  proxy-status  show each connected proxy's xDS sync state (from the controller's admin server)
  stat       the mesh's golden metrics per workload, pod or service (ferry stat [deploy|pod|svc] [NAME])
  edges      which workloads talk to which, with their SPIFFE identities and mTLS state
  check      every sidecar's workload certificate: held, renewing on time, not close to expiry
  token      print a local-mesh bootstrap token (ferry token --namespace NS --service-account SA --token-key FILE)
  certs      create the mesh root and issuing CAs, rotate the root (certs root | intermediate | rotate-root)
  init       install the pod's traffic capture rules (iptables; runs in the init container)
  inject     add the Ferry sidecar to Kubernetes workloads in YAML (-f FILE|-)
  webhook    serve the mutating admission webhook that injects the sidecar
  drain      drain the local proxy before the pod stops (the proxy's preStop hook)
  wait-ready wait until the local proxy is ready (the pre-1.29 postStart hook)
  version    print the version

Run 'ferry <command> --help' for a command's flags.
`;

type Command = (argv: string[]) => Promise<number>;

const commands: Record<string, Command> = {
  proxy: proxyCommand,
  demo: (argv) => lazy.demo().demoCommand(argv),
  up: (argv) => lazy.up().upCommand(argv),
  certs: (argv) => lazy.mesh().certsCommand(argv),
  controller: (argv) => lazy.controller().controllerCommand(argv),
  'proxy-status': (argv) => lazy.controller().proxyStatusCommand(argv),
  stat: (argv) => lazy.stat().statCommand(argv),
  edges: (argv) => lazy.stat().edgesCommand(argv),
  check: (argv) => lazy.check().checkCommand(argv),
  init: (argv) => lazy.mesh().initCommand(argv),
  inject: (argv) => lazy.mesh().injectCommand(argv),
  webhook: (argv) => lazy.mesh().webhookCommand(argv),
  drain: (argv) => lazy.agent().drainCommand(argv),
  token: (argv) => lazy.ca().tokenCommand(argv),
  'wait-ready': (argv) => lazy.agent().waitReadyCommand(argv),
  version: async () => {
    process.stdout.write('ferry 0.1.0\n');
    return 0;
  },
};

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(USAGE);
    return name ? 0 : 2;
  }
  const cmd = commands[name];
  if (!cmd) {
    process.stderr.write(`ferry: unknown command ${JSON.stringify(name)}\n\n${USAGE}`);
    return 2;
  }
  try {
    return await cmd(rest);
  } catch (err) {
    if (err instanceof FerryError) {
      // The code leads to what to do about it (docs/errors.md).
      process.stderr.write(`ferry ${name}: ${err.message} [${err.code}]\n`);
      if (err.code === 'FERRY_ERR_USAGE' && name === 'proxy') process.stderr.write(PROXY_USAGE);
      return err.code === 'FERRY_ERR_USAGE' ? 2 : 1;
    }
    throw err;
  }
}

/** Lets subcommands register themselves (certs, init, inject, webhook, controller, …). */
export function registerCommand(name: string, cmd: Command): void {
  commands[name] = cmd;
}
