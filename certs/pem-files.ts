// Reading and writing the PKI's PEM files: atomic writes, 0600 for private keys, errors that name the file.

import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { FerryError } from '../src/errors';

/** A PKI file could not be read, written, or already exists where it must not be overwritten. */
export class CertsFileError extends FerryError {
  readonly file: string;
  constructor(code: 'FERRY_ERR_CERTS_FILE' | 'FERRY_ERR_CERTS_EXISTS', file: string, message: string, options?: { cause?: unknown }) {
    super(code, `${file}: ${message}`, options);
    this.file = file;
  }
}

/** Private keys: owner read/write only. */
export const SECRET_MODE = 0o600;
/** Certificates and bundles: world-readable. */
export const PUBLIC_MODE = 0o644;

/** Writes `content` to `dir/name` through a temp file and rename, so readers never see half a file. */
export async function writePemFile(dir: string, name: string, content: string, mode: number): Promise<string> {
  const file = path.join(dir, name);
  const tmp = path.join(dir, `.${name}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(tmp, content, { mode, flag: 'wx' });
    await fs.chmod(tmp, mode); // umask may have removed bits we want on a public file
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    throw new CertsFileError('FERRY_ERR_CERTS_FILE', file, `cannot write: ${(err as Error).message}`, { cause: err });
  }
  return file;
}

export async function readPemFile(dir: string, name: string): Promise<string> {
  const file = path.join(dir, name);
  try {
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    throw new CertsFileError('FERRY_ERR_CERTS_FILE', file, `cannot read: ${(err as Error).message}`, { cause: err });
  }
}

/** Throws FERRY_ERR_CERTS_EXISTS if `dir/name` exists (a CA key is never overwritten by accident). */
export async function refuseExisting(dir: string, name: string): Promise<void> {
  const file = path.join(dir, name);
  const exists = await fs.stat(file).then(
    () => true,
    () => false,
  );
  if (exists) throw new CertsFileError('FERRY_ERR_CERTS_EXISTS', file, 'already exists; refusing to overwrite a CA key (use --force)');
}
