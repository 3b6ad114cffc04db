// What every service registry offers the controller: start with a change callback, stop, and a debug view.

import type { MeshModel } from '../model/types';
import type { ChangeTimes } from '../types';

export interface Registry {
  /** Loads the first model, calls onChange with it, and keeps calling it with each new model. */
  start(onChange: (model: MeshModel, times?: ChangeTimes) => void): Promise<void>;
  stop(): Promise<void>;
  /** The latest model, or null before the first successful load. */
  readonly model: MeshModel | null;
  /** A JSON-able view for /debug: source, last error, allocations, counts. */
  debug(): Record<string, unknown>;
}
