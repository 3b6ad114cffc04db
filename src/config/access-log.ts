// Envoy's `access_log` entries (HCM, tcp_proxy): file, stdout and stderr loggers with text or JSON
// formats. Every format is compiled here once, so an unknown command operator is refused with its path.

import { ConfigError, UnsupportedConfigError } from '../errors';
import { compileJsonFormat, compileTextFormat, DEFAULT_TEXT_FORMAT } from '../observability/access-log-format';
import { isPlainObject, Reader } from './reader';
import type { AccessLogConfig } from './types';

const FILE = 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog';
const STDOUT = 'type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog';
const STDERR = 'type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StderrAccessLog';

type Format = AccessLogConfig['format'];

function checked(format: Format, path: string): Format {
  if (format.kind === 'text') compileTextFormat(format.text, path);
  else compileJsonFormat({ ...format.fields }, path, format.omitEmptyValues);
  return format;
}

/** SubstitutionFormatString: text_format, text_format_source.inline_string or json_format. */
function substitutionFormat(r: Reader): Format {
  const kinds = ['text_format', 'text_format_source', 'json_format'].filter((k) => r.has(k));
  if (kinds.length > 1) throw new ConfigError(r.path, `only one of text_format, text_format_source and json_format may be set (got ${kinds.join(', ')})`);
  const omitEmptyValues = r.bool('omit_empty_values', false);
  r.ignore('content_type');
  r.reject('formatters', 'json_format_options');
  let format: Format;
  if (kinds[0] === 'json_format') {
    const fields = r.map('json_format');
    format = { kind: 'json', fields, omitEmptyValues };
    format = checked(format, r.at('json_format'));
  } else if (kinds[0] === 'text_format_source') {
    const src = r.obj('text_format_source')!;
    const text = src.str('inline_string');
    src.reject('filename', 'inline_bytes', 'environment_variable');
    src.done();
    if (text === '') throw new ConfigError(src.at('inline_string'), 'is required (Ferry reads inline formats only)');
    format = checked({ kind: 'text', text }, src.at('inline_string'));
  } else {
    const text = r.str('text_format', DEFAULT_TEXT_FORMAT) || DEFAULT_TEXT_FORMAT;
    format = checked({ kind: 'text', text }, r.at('text_format'));
  }
  r.done();
  return format;
}

function loggerFormat(r: Reader): Format {
  const deprecated = ['format', 'json_format', 'typed_json_format'].filter((k) => r.has(k));
  if (deprecated.length > 0 && r.has('log_format')) throw new ConfigError(r.path, `log_format and ${deprecated[0]} are alternatives; set one`);
  if (deprecated.length > 1) throw new ConfigError(r.path, `only one of ${deprecated.join(', ')} may be set`);
  const lf = r.obj('log_format');
  if (lf) return substitutionFormat(lf);
  if (deprecated[0] === 'format') return checked({ kind: 'text', text: r.str('format') }, r.at('format'));
  if (deprecated[0]) return checked({ kind: 'json', fields: r.map(deprecated[0]), omitEmptyValues: false }, r.at(deprecated[0]));
  return { kind: 'text', text: DEFAULT_TEXT_FORMAT };
}

/** `key` (access_log) of an HCM or tcp_proxy → its loggers, in order. */
export function translateAccessLogs(r: Reader, key = 'access_log'): AccessLogConfig[] {
  return r.objList(key, (entry) => {
    entry.ignore('name');
    entry.reject('filter');
    const tc = entry.get('typed_config');
    const at = entry.at('typed_config');
    if (!isPlainObject(tc)) throw new ConfigError(at, 'is required (a FileAccessLog, StdoutAccessLog or StderrAccessLog)');
    const t = new Reader(tc, at);
    const type = t.str('@type');
    let target: AccessLogConfig['target'];
    if (type === FILE) target = { kind: 'file', path: t.requiredStr('path') };
    else if (type === STDOUT) target = { kind: 'stdout' };
    else if (type === STDERR) target = { kind: 'stderr' };
    else throw new UnsupportedConfigError(t.at('@type'), `access logger ${type || '(none)'} is not supported (file, stdout and stderr are)`);
    const format = loggerFormat(t);
    t.done();
    entry.done();
    return { field: entry.path, target, format };
  });
}
