// Ferry's error classes: a stable `code` per failure an operator can act on, and the `cause`.

export class FerryError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A configuration value is wrong; `path` names where (`static_resources.clusters[1].lb_policy`). */
export class ConfigError extends FerryError {
  readonly path: string;
  constructor(path: string, message: string, options?: { cause?: unknown }) {
    super('FERRY_ERR_CONFIG', path ? `${path}: ${message}` : message, options);
    this.path = path;
  }
}

/** A configuration field is valid Envoy but Ferry does not implement it; never silently ignored. */
export class UnsupportedConfigError extends ConfigError {
  constructor(path: string, message: string) {
    super(path, message);
    (this as { code: string }).code = 'FERRY_ERR_UNSUPPORTED';
  }
}

/** A file could not be read or parsed (YAML/JSON syntax); names the file and line. */
export class ConfigFileError extends FerryError {
  constructor(file: string, message: string, options?: { cause?: unknown }) {
    super('FERRY_ERR_CONFIG_FILE', `${file}: ${message}`, options);
  }
}
