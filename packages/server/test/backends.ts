/**
 * The backends the service's integration suite runs on. SQLite always; the
 * PostgreSQL + Redis pair when those servers are reachable (the global setup
 * finds out, prints a notice when they are not, and requires them in CI).
 */
import { inject } from 'vitest';
import { type Backend, sqliteBackend } from './harness.js';
import { createScaleBackend } from './scale-backend.js';

const extra: Backend[] = [];

/** Registers another backend. */
export function addBackend(backend: Backend): void {
  extra.push(backend);
}

/** The PostgreSQL and Redis URLs of the scale-out backend, or null when either server is unreachable. */
export function scaleServices(): { postgresUrl: string; redisUrl: string } | null {
  const postgresUrl = inject('postgresUrl');
  const redisUrl = inject('redisUrl');
  return postgresUrl !== null && redisUrl !== null ? { postgresUrl, redisUrl } : null;
}

const services = scaleServices();
if (services !== null) addBackend(createScaleBackend(services.postgresUrl, services.redisUrl));

export function backends(): Backend[] {
  return [sqliteBackend, ...extra];
}
