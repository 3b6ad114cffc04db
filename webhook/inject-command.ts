// `ferry inject -f FILE|-`: manual injection of pods and workload templates in multi-document YAML.

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { type Operation, applyPatch } from 'fast-json-patch';
import { parseAllDocuments, stringify } from 'yaml';
import { FerryError } from '../src/errors';
import { inject } from './inject';
import { podShapeError } from './pod-shape';
import { MESH_FLAGS_USAGE, meshOptionsFromFlags } from './mesh-flags';
import type { InjectOptions, Pod } from './types';

const USAGE = `usage: ferry inject -f FILE|- [options]

Adds the Ferry sidecar to Pods, Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs and
CronJobs (and Lists of them) in multi-document YAML; everything else passes through unchanged.

  -f, --filename FILE|-       input ("-" = stdin)
  --image IMAGE               the Ferry image (default: $FERRY_IMAGE or ${defaultImage()})
  --kubernetes-version 1.N    target cluster version; before 1.29 the proxy is a regular container
                              (default 1.30)
${MESH_FLAGS_USAGE}`;

function defaultImage(): string {
  return 'ferry/ferry:0.1.0';
}

export interface InjectIo {
  readonly stdout: (s: string) => void;
  readonly stderr: (s: string) => void;
  readonly readStdin: () => Promise<string>;
  readonly env: NodeJS.ProcessEnv;
}

const defaultIo: InjectIo = {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  readStdin: async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  },
  env: process.env,
};

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The pod template of a workload, or the object itself for a Pod; null when there is none. */
function templateOf(obj: Obj): Obj | null {
  const spec = isObj(obj.spec) ? obj.spec : null;
  switch (obj.kind) {
    case 'Pod':
      return obj;
    case 'Deployment':
    case 'StatefulSet':
    case 'DaemonSet':
    case 'ReplicaSet':
    case 'Job':
      return spec && isObj(spec.template) ? spec.template : null;
    case 'CronJob': {
      const job = spec && isObj(spec.jobTemplate) && isObj(spec.jobTemplate.spec) ? spec.jobTemplate.spec : null;
      return job && isObj(job.template) ? job.template : null;
    }
    default:
      return null;
  }
}

/** Injects into one object (in place); returns a note for stderr when it was skipped. */
function injectObject(obj: Obj, options: InjectOptions, where: string, notes: string[]): void {
  if (obj.kind === 'List' && Array.isArray(obj.items)) {
    obj.items.forEach((item, i) => isObj(item) && injectObject(item, options, `${where}.items[${i}]`, notes));
    return;
  }
  const template = templateOf(obj);
  if (!template) return;
  const meta = isObj(obj.metadata) ? obj.metadata : {};
  const name = `${String(obj.kind)}/${String(meta.name ?? meta.generateName ?? '?')}`;
  const pod: Pod = { metadata: isObj(template.metadata) ? template.metadata : {}, spec: template.spec as Pod['spec'] };
  const namespace = typeof meta.namespace === 'string' ? meta.namespace : undefined;
  const shape = podShapeError(pod, 'pod');
  if (shape !== null) throw new Error(`${where} (${name}): ${shape}`);
  let result;
  try {
    result = inject(pod, options, { namespace });
  } catch (err) {
    throw new FerryError('FERRY_ERR_CONFIG', `${where} (${name}): ${(err as Error).message}`, { cause: err });
  }
  if (result.skipped) {
    notes.push(`${name}: not injected: ${result.skipped}`);
    return;
  }
  const patched = applyPatch(pod, result.patch as Operation[], false, true).newDocument;
  template.metadata = patched.metadata;
  template.spec = patched.spec;
}

/** Injects every document of a YAML stream; returns the new stream. */
export function injectYaml(text: string, options: InjectOptions, source: string, notes: string[] = []): string {
  const docs = parseAllDocuments(text);
  if (!Array.isArray(docs)) return text; // only an empty stream has no documents array
  const out: string[] = [];
  docs.forEach((doc, i) => {
    if (doc.errors.length > 0) throw new FerryError('FERRY_ERR_CONFIG_FILE', `${source}: document ${i + 1}: ${doc.errors[0].message}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) return;
    if (isObj(value)) injectObject(value, options, `${source}: document ${i + 1}`, notes);
    out.push(stringify(value, { lineWidth: 0 }));
  });
  return out.join('---\n');
}

function parseMinor(version: string | undefined): number {
  if (version === undefined) return 30;
  const m = /^v?1\.(\d+)(\.\d+)?$/.exec(version.trim());
  if (!m) throw new FerryError('FERRY_ERR_USAGE', `--kubernetes-version: "${version}" must look like 1.29`);
  return Number(m[1]);
}

/** Entry point for `ferry inject`; resolves to the exit code. */
export async function injectCommand(argv: string[], io: InjectIo = defaultIo): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        filename: { type: 'string', short: 'f' },
        image: { type: 'string' },
        'controller-address': { type: 'string' },
        'trust-domain': { type: 'string' },
        'system-namespace': { type: 'string' },
        'ca-root-file': { type: 'string' },
        'kubernetes-version': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (err) {
    io.stderr(`ferry inject: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    io.stdout(USAGE);
    return 0;
  }
  const file = values.filename;
  if (typeof file !== 'string') {
    io.stderr(`ferry inject: -f FILE|- is required\n${USAGE}`);
    return 2;
  }
  try {
    const options: InjectOptions = {
      image: (values.image as string | undefined) ?? io.env.FERRY_IMAGE ?? defaultImage(),
      ...meshOptionsFromFlags({
        controllerAddress: values['controller-address'] as string | undefined,
        trustDomain: values['trust-domain'] as string | undefined,
        systemNamespace: values['system-namespace'] as string | undefined,
        caRootFile: values['ca-root-file'] as string | undefined,
      }),
      kubernetesMinor: parseMinor(values['kubernetes-version'] as string | undefined),
      namespaceInjection: true,
    };
    const text = file === '-' ? await io.readStdin() : readFileSync(file, 'utf8');
    const notes: string[] = [];
    const output = injectYaml(text, options, file === '-' ? 'stdin' : file, notes);
    for (const note of notes) io.stderr(`ferry inject: ${note}\n`);
    io.stdout(output);
    return 0;
  } catch (err) {
    io.stderr(`ferry inject: ${(err as Error).message}\n`);
    return 2;
  }
}
