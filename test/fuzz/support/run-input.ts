// Runs one input file through one fuzz target and prints what it threw: `node dist/test/fuzz/support/run-input.js <target> <file>`.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

async function main(): Promise<void> {
  const [target, file] = process.argv.slice(2);
  if (!target || !file) {
    console.log('usage: run-input.js <target> <file>   (targets: test/fuzz/<target>.fuzz.ts)');
    return;
  }
  const { fuzz } = (await import(join(__dirname, '..', `${target}.fuzz.js`))) as { fuzz: (data: Buffer) => void | Promise<void> };
  try {
    await fuzz(readFileSync(file));
    console.log(`${target}: ${file} passes`);
  } catch (err) {
    console.error(err);
    process.exitCode = 1;
  }
}

void main().then(() => process.exit());
