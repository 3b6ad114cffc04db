// Picks the line of a dead process's output that says why it died (for a failed run's `error`).

const TELLING = /\b(error|alert|fatal|critical|cannot|unable|failed|exception|panic|EADDRINUSE|not (found|built|supported|implemented))\b|^\S+: /i;

/** The first telling line of `output` (an error, an alert…), else its last non-empty line; at most `max` chars. */
export function exitReason(output: string, max = 300): string {
  const lines = output.split('\n').map((l) => l.trim()).filter((l) => l.length > 0 && !/^at /.test(l));
  const telling = lines.find((l) => TELLING.test(l)) ?? lines.at(-1) ?? '';
  return telling.length > max ? `${telling.slice(0, max - 1)}…` : telling;
}
