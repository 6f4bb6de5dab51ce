/**
 * The backends the service's integration suite runs on. SQLite always; the
 * PostgreSQL + Redis pair when those servers are reachable (required in CI).
 */
import { type Backend, sqliteBackend } from './harness.js';

const extra: Backend[] = [];

/** Registers another backend (the scale-out pair adds itself here). */
export function addBackend(backend: Backend): void {
  extra.push(backend);
}

export function backends(): Backend[] {
  return [sqliteBackend, ...extra];
}
