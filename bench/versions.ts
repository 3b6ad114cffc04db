// Extracts version numbers from the `--version` output of Envoy, HAProxy and fortio.

/** `envoy --version` → "1.40.0" (the field between the commit hash and the build status). */
export function parseEnvoyVersion(text: string): string | null {
  const match = /version:\s*[0-9a-f]+\/(\d+\.\d+\.\d+[^/\s]*)\//.exec(text);
  return match ? match[1]! : null;
}

/** `haproxy -v` → "2.6.12-1+deb12u4". */
export function parseHaproxyVersion(text: string): string | null {
  const match = /HA-?Proxy version (\S+)/.exec(text);
  return match ? match[1]! : null;
}

/** `fortio version` → "1.68.2" (first line; older builds print "1.68.2 <date> <commit>"). */
export function parseFortioVersion(text: string): string | null {
  const match = /^\s*v?(\d+\.\d+\.\d+)/.exec(text);
  return match ? match[1]! : null;
}
