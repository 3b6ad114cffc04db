// `ferry certs rotate-root add|switch|remove-old`: the file steps of certs/rotate-root.ts, each after asking every sidecar whether the mesh is ready for it.

import { systemClock, type Clock } from '../clock/clock';
import { parseFlags, UsageError } from '../flags/flags';
import { rotateRootAdd, rotateRootRemoveOld, rotateRootSwitch, rotationState, RootRotationError } from '../../certs/rotate-root';
import { checkTargets } from './check/check-command';
import { sidecarIdentity } from './check/identity-check';
import { scrapeSidecars, type SidecarScrape } from './check/sidecar-survey';

export const ROTATE_ROOT_USAGE = `usage: ferry certs rotate-root add|switch|remove-old --ca-dir DIR --root DIR [flags]

Replaces the mesh root without an outage, in three steps run in order; the controller follows its
--ca-dir DIR while it runs, and sidecars follow at their certificate renewals.

  add         the new root (created in --root DIR if it holds none) joins the trust bundle; the CA
              keeps signing under the old root
  switch      a new issuing CA under the new root; the bundle keeps both roots. Refused, naming them,
              until every sidecar trusts the new root
  remove-old  the bundle keeps only the new root. Refused, naming them, until every sidecar holds a
              certificate under the new root

  --ca-dir DIR       the controller's issuing CA directory (--ca-dir of ferry controller)
  --root DIR         the new root's directory (root-cert.pem, root-key.pem)
  --ttl-days N       lifetime of the new root (add) or the new issuing CA (switch)
  --state FILE       ask the sidecars of this \`ferry up\` run (default: the newest running one)
  --controller URL   ask the sidecars the controller's /api/targets lists instead
  --state-dir DIR    where \`ferry up\` keeps its runs
`;

export type RotationStep = 'add' | 'switch' | 'remove-old';

/** The sidecars not ready for `step` towards root `fp`, each with why (pure); empty when all are. */
export function sidecarsNotReady(step: Exclude<RotationStep, 'add'>, scrapes: readonly SidecarScrape[], fp: string): string[] {
  const out: string[] = [];
  for (const s of scrapes) {
    if (s.samples === null) {
      out.push(`${s.target.pod} (cannot tell: ${s.error})`);
      continue;
    }
    const id = sidecarIdentity(s.samples);
    if (step === 'switch' && !id.trustedRoots.includes(fp)) out.push(`${s.target.pod} (trusts ${id.trustedRoots.join(', ') || 'no root'}; not renewed since add)`);
    if (step === 'remove-old' && id.root !== fp) out.push(`${s.target.pod} (certificate ${id.serial ?? 'none'} under ${id.root ?? 'no root'}; not renewed since switch)`);
  }
  return out;
}

export async function rotateRootCommand(argv: string[], deps: { clock?: Clock; out?: (s: string) => void } = {}): Promise<number> {
  const [step, ...rest] = argv;
  const out = deps.out ?? ((s: string) => process.stdout.write(s));
  if (step === undefined || step === '--help' || step === 'help' || step === '-h') {
    out(ROTATE_ROOT_USAGE);
    return step === undefined ? 2 : 0;
  }
  if (step !== 'add' && step !== 'switch' && step !== 'remove-old') throw new UsageError(`ferry certs rotate-root: ${JSON.stringify(step)} is not add, switch or remove-old`);
  const { values, positional } = parseFlags(rest, { 'ca-dir': 'string', root: 'string', 'ttl-days': 'number', state: 'string', controller: 'string', 'state-dir': 'string' });
  if (positional.length) throw new UsageError(`unexpected argument ${JSON.stringify(positional[0])}`);
  const caDir = values['ca-dir'];
  const newRootDir = values.root;
  if (typeof caDir !== 'string') throw new UsageError('ferry certs rotate-root needs --ca-dir DIR');
  if (typeof newRootDir !== 'string') throw new UsageError('ferry certs rotate-root needs --root DIR');
  const ttlDays = typeof values['ttl-days'] === 'number' ? values['ttl-days'] : undefined;
  const clock = deps.clock ?? systemClock;
  const args = { caDir, newRootDir, ttlDays, clock };
  let summary: string;
  if (step === 'add') {
    summary = await rotateRootAdd(args);
  } else {
    const st = await rotationState(caDir, newRootDir, clock.wallNow());
    const scrapes = await scrapeSidecars(await checkTargets(values, clock), 3000, clock);
    if (scrapes.length === 0) throw new RootRotationError('no sidecars found to ask; name them with --state FILE or --controller URL');
    const lagging = sidecarsNotReady(step, scrapes, st.newRootFingerprint);
    if (lagging.length > 0) {
      const need = step === 'switch' ? 'trusts the new root' : 'holds a certificate under the new root';
      throw new RootRotationError(`refusing ${step}: not every sidecar ${need} (${lagging.length} of ${scrapes.length}): ${lagging.join('; ')}`);
    }
    summary = `${scrapes.length} sidecars ready\n${step === 'switch' ? await rotateRootSwitch(args) : await rotateRootRemoveOld(args)}`;
  }
  out(summary.endsWith('\n') ? summary : `${summary}\n`);
  return 0;
}
