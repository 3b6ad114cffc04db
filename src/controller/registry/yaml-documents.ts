// Reads a multi-document YAML (or JSON) file into objects, with file:line for syntax errors and object fields.

import { isCollection, LineCounter, parseAllDocuments, type Document } from 'yaml';
import { ConfigFileError } from '../../errors';

export interface SourceDocument {
  readonly file: string;
  /** 0-based index of the document in the file. */
  readonly index: number;
  /** 1-based line where the document starts. */
  readonly line: number;
  readonly value: unknown;
  /** The 1-based line of a field path (`spec.rules[0].matches`), or the document's line. */
  lineOf(path: string): number;
}

/** `spec.rules[0].matches` → ['spec', 'rules', 0, 'matches']. */
export function pathSegments(path: string): (string | number)[] {
  const out: (string | number)[] = [];
  for (const part of path.split('.')) {
    if (part === '') continue;
    const m = /^([^[]*)((?:\[\d+\])*)$/.exec(part);
    if (!m) {
      out.push(part);
      continue;
    }
    if (m[1]) out.push(m[1]);
    for (const idx of m[2].matchAll(/\[(\d+)\]/g)) out.push(Number(idx[1]));
  }
  return out;
}

function lineOfPath(doc: Document.Parsed, lc: LineCounter, fallback: number, path: string): number {
  const segs = pathSegments(path);
  // Walk as deep as the path exists; an unknown key still has a key node to point at.
  for (let n = segs.length; n > 0; n--) {
    const node = doc.getIn(segs.slice(0, n), true) as { range?: [number, number, number] } | undefined;
    if (node && node.range) return lc.linePos(node.range[0]).line;
    const parent = n > 1 ? doc.getIn(segs.slice(0, n - 1), true) : doc.contents;
    if (isCollection(parent)) {
      for (const item of parent.items as unknown[]) {
        const key = (item as { key?: { value?: unknown; range?: [number, number, number] } }).key;
        if (key && key.value === segs[n - 1] && key.range) return lc.linePos(key.range[0]).line;
      }
    }
  }
  return fallback;
}

/** Parses every document of `text`; a syntax error throws ConfigFileError("file:line:col: …"). Empty documents are skipped. */
export function parseYamlDocuments(file: string, text: string): SourceDocument[] {
  const lc = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const list = Array.isArray(docs) ? docs : [];
  const out: SourceDocument[] = [];
  list.forEach((doc, index) => {
    const err = doc.errors[0];
    if (err) {
      const pos = err.linePos?.[0] ?? lc.linePos(err.pos[0]);
      throw new ConfigFileError(`${file}:${pos.line}:${pos.col}`, `document ${index + 1}: ${err.message.split('\n')[0]}`);
    }
    const start = doc.contents?.range?.[0] ?? 0;
    const line = lc.linePos(start).line;
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (e) {
      // What parsing lets through but building fails on: an alias before its anchor, too many aliases.
      throw new ConfigFileError(`${file}:${line}`, `document ${index + 1}: ${(e as Error).message}`, { cause: e });
    }
    if (value === null || value === undefined) return;
    out.push({ file, index, line, value, lineOf: (path) => lineOfPath(doc, lc, line, path) });
  });
  return out;
}
