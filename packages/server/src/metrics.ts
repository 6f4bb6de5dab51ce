/**
 * Prometheus metrics of one service instance (its own registry, so several
 * apps in one process do not collide). Labels never carry user data or secrets.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export interface Metrics {
  registry: Registry;
  logins: Counter<'outcome'>;
  refreshes: Counter<'outcome'>;
  decryptFailures: Counter<'reason'>;
  wechatCalls: Histogram<'endpoint' | 'outcome'>;
  wechatErrcodes: Counter<'endpoint' | 'errcode'>;
  activeSessions: Gauge;
}

export function createMetrics(
  options: { defaultMetrics?: boolean; countActiveSessions?: () => Promise<number> } = {},
): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'wxlogin_process_' });
  const countActiveSessions = options.countActiveSessions;
  return {
    registry,
    logins: new Counter({
      name: 'wxlogin_logins_total',
      help: 'Logins by outcome (created, ok, or the error code).',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    refreshes: new Counter({
      name: 'wxlogin_token_refreshes_total',
      help: 'Refresh-token exchanges by outcome.',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    decryptFailures: new Counter({
      name: 'wxlogin_decrypt_failures_total',
      help: 'Open-data decrypt or signature failures by reason.',
      labelNames: ['reason'],
      registers: [registry],
    }),
    wechatCalls: new Histogram({
      name: 'wxlogin_wechat_call_duration_seconds',
      help: 'WeChat API call latency by endpoint and outcome.',
      labelNames: ['endpoint', 'outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    wechatErrcodes: new Counter({
      name: 'wxlogin_wechat_errcodes_total',
      help: 'WeChat errcodes received, by endpoint.',
      labelNames: ['endpoint', 'errcode'],
      registers: [registry],
    }),
    activeSessions: new Gauge({
      name: 'wxlogin_active_sessions',
      help: 'Sessions neither revoked nor expired.',
      registers: [registry],
      async collect() {
        if (countActiveSessions) this.set(await countActiveSessions());
      },
    }),
  };
}
