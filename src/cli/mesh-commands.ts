// The ferry subcommands that wrap other components: certs, init, inject, webhook.

import { certsIntermediateCommand, certsRootCommand } from '../../certs/commands';
import { initCommand } from '../../sidecar/init/command';
import { injectCommand } from '../../webhook/inject-command';
import { MESH_FLAGS_USAGE, meshOptionsFromFlags } from '../../webhook/mesh-flags';
import { startWebhook } from '../../webhook/server';
import { PORT_WEBHOOK } from '../mesh/constants';
import { parseFlags, UsageError } from '../flags/flags';
import { rotateRootCommand } from './rotate-root-command';

const CERTS_USAGE = `usage:
  ferry certs root --out DIR [--ttl-days N] [--force]
  ferry certs intermediate --root DIR --out DIR [--ttl-days N] [--also-trust FILE]... [--force]
  ferry certs rotate-root add|switch|remove-old --ca-dir DIR --root DIR [--state FILE|--controller URL]
`;

export async function certsCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'rotate-root') return rotateRootCommand(rest);
  if (sub !== 'root' && sub !== 'intermediate') {
    process.stdout.write(CERTS_USAGE);
    return sub === '--help' || sub === 'help' ? 0 : 2;
  }
  // --also-trust may repeat: collect it before the generic parser sees it.
  const alsoTrust: string[] = [];
  const filtered: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === '--also-trust') {
      const v = rest[++i];
      if (v === undefined) throw new UsageError('flag --also-trust needs a value');
      alsoTrust.push(v);
    } else if (rest[i].startsWith('--also-trust=')) alsoTrust.push(rest[i].slice('--also-trust='.length));
    else filtered.push(rest[i]);
  }
  const { values } = parseFlags(filtered, { out: 'string', root: 'string', 'ttl-days': 'number', force: 'boolean' });
  const outDir = values.out;
  if (typeof outDir !== 'string') throw new UsageError(`ferry certs ${sub} needs --out DIR`);
  const ttlDays = typeof values['ttl-days'] === 'number' ? values['ttl-days'] : undefined;
  const force = values.force === true;
  let summary: string;
  if (sub === 'root') {
    summary = await certsRootCommand({ outDir, ttlDays, force });
  } else {
    const rootDir = values.root;
    if (typeof rootDir !== 'string') throw new UsageError('ferry certs intermediate needs --root DIR');
    summary = await certsIntermediateCommand({ rootDir, outDir, ttlDays, force, alsoTrust });
  }
  process.stdout.write(summary.endsWith('\n') ? summary : `${summary}\n`);
  return 0;
}

const WEBHOOK_USAGE = `usage: ferry webhook --cert FILE --key FILE [--listen ADDR] [--image IMAGE] [--kubernetes-minor N]
                     [--controller-address ADDR] [--trust-domain NAME] [--system-namespace NS] [--ca-root-file FILE]
  Serves POST /inject (AdmissionReview), /healthz and /metrics over HTTPS (default :${PORT_WEBHOOK}).
${MESH_FLAGS_USAGE}`;

export async function webhookCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, {
    listen: 'string',
    cert: 'string',
    key: 'string',
    image: 'string',
    'controller-address': 'string',
    'trust-domain': 'string',
    'system-namespace': 'string',
    'ca-root-file': 'string',
    'kubernetes-minor': 'number',
    help: 'boolean',
  });
  if (values.help) {
    process.stdout.write(WEBHOOK_USAGE);
    return 0;
  }
  if (typeof values.cert !== 'string' || typeof values.key !== 'string') throw new UsageError('ferry webhook needs --cert FILE and --key FILE');
  const str = (name: string): string | undefined => (typeof values[name] === 'string' ? (values[name] as string) : undefined);
  const mesh = meshOptionsFromFlags({
    controllerAddress: str('controller-address'),
    trustDomain: str('trust-domain'),
    systemNamespace: str('system-namespace'),
    caRootFile: str('ca-root-file'),
  });
  if (mesh.caRootPem === undefined) process.stderr.write('ferry webhook: no --ca-root-file: injected sidecars get no mesh root and run without identity\n');
  const server = await startWebhook({
    listen: typeof values.listen === 'string' ? values.listen : `:${PORT_WEBHOOK}`,
    cert: values.cert,
    key: values.key,
    injectOptions: {
      image: typeof values.image === 'string' ? values.image : (process.env.FERRY_IMAGE ?? 'ferry/ferry:0.1.0'),
      ...mesh,
      kubernetesMinor: typeof values['kubernetes-minor'] === 'number' ? values['kubernetes-minor'] : 29,
    },
  });
  process.stdout.write(`ferry webhook: serving on port ${server.port}\n`);
  return new Promise<number>((resolve) => {
    const stop = (): void => void server.close().then(() => resolve(0));
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}

export { initCommand, injectCommand };
