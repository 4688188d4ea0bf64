/**
 * docs/metrics.md lists exactly the metrics the registry has; audit and Redis metrics move with what
 * the Store does; labels stay bounded whatever a client sends.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createPrometheusMetrics } from '../../../src/adapters/metrics/prometheus.js';
import { createAuditTrail } from '../../../src/app/audit-trail.js';
import { createStore } from '../../../src/adapters/store/create-store.js';
import { validateConfig } from '../../../src/config/load.js';
import { systemClock } from '../../../src/ports/clock.js';
import { silentLogger } from '../../../src/log.js';
import { until } from '../../support/dispatch-harness.js';
import { deletePrefix, REDIS_URL, uniquePrefix } from '../../support/redis.js';
import { metricFamilies, parseMetrics, sampleValue } from '../../support/metrics-text.js';

const text = async (m: ReturnType<typeof createPrometheusMetrics>): Promise<string> => (await m.render()).body;

describe('metrics', () => {
  it('docs/metrics.md has one line per agentgate metric, with its type, and nothing that is gone', async () => {
    const doc = readFileSync(new URL('../../../docs/metrics.md', import.meta.url), 'utf8');
    const documented = new Map([...doc.matchAll(/^\| `(agentgate_[a-z_]+)` \| (counter|gauge|histogram) \|/gm)].map((m) => [m[1]!, m[2]!]));
    const families = metricFamilies(await text(createPrometheusMetrics({ defaultMetrics: false })));
    const ours = new Map([...families].filter(([name]) => name.startsWith('agentgate_')));
    expect(Object.fromEntries(documented)).toEqual(Object.fromEntries(ours));
  });

  it('audit: each write the Store refuses is counted, buffered records are shown while they wait, dropped ones counted', async () => {
    const metrics = createPrometheusMetrics({ defaultMetrics: false });
    const store = {
      down: true,
      async appendAudit(): Promise<string> {
        if (store.down) throw new Error('ECONNREFUSED');
        return '1';
      },
    };
    const trail = createAuditTrail({ store, logger: silentLogger(), retryMs: 20, cap: 2, metrics });
    const entry = { kind: 'queue-op' as const, at: 1, action: 'pause', result: 'ok', detail: {} };
    await trail.append(entry);
    await trail.append(entry);
    await trail.append(entry); // the buffer holds 2: dropped
    let t = await text(metrics);
    expect(sampleValue(t, 'agentgate_audit_records_buffered')).toBe(2);
    expect(sampleValue(t, 'agentgate_audit_records_dropped_total')).toBe(1);
    expect(sampleValue(t, 'agentgate_audit_write_failures_total')).toBeGreaterThanOrEqual(1);
    store.down = false;
    await until(async () => sampleValue(await text(metrics), 'agentgate_audit_records_buffered') === 0, 2000, 'buffer written');
    await trail.stop();
    t = await text(metrics);
    expect(sampleValue(t, 'agentgate_audit_records_buffered')).toBe(0);
  });

  it('a reconnect is counted only when a connection that was up comes back', async () => {
    const metrics = createPrometheusMetrics({ defaultMetrics: false });
    const link = (up: boolean): void => metrics.connection({ system: 'ami', server: 'pbx1', up });
    link(false); // declared before connecting
    link(true); // first connect: not a reconnect
    expect(sampleValue(await text(metrics), 'agentgate_reconnects_total', { system: 'ami', server: 'pbx1' })).toBeUndefined();
    link(false);
    link(false); // a second "down" while down changes nothing
    link(true);
    const t = await text(metrics);
    expect(sampleValue(t, 'agentgate_reconnects_total', { system: 'ami', server: 'pbx1' })).toBe(1);
    expect(sampleValue(t, 'agentgate_connection_up', { system: 'ami', server: 'pbx1' })).toBe(1);
  });

  it('labels a client or a forged UserEvent chose are counted as `other`: the series count stays bounded', async () => {
    const metrics = createPrometheusMetrics({ defaultMetrics: false });
    for (let i = 0; i < 50; i++) {
      metrics.queueOperation({ action: `evil-${i}`, result: `r-${i}`, source: `s-${i}` });
      metrics.dispatchFinished({ server: 'pbx1', result: `X${i}`, ringMs: 1, legOutcomes: [`o${i}`] });
      metrics.httpRequest({ method: `M${i}`, route: 'unknown', status: 404 });
    }
    const samples = parseMetrics(await text(metrics));
    expect(samples.filter((s) => s.name === 'agentgate_queue_operations_total')).toEqual([
      { name: 'agentgate_queue_operations_total', labels: { action: 'other', result: 'other', source: 'dialplan' }, value: 50 },
    ]);
    expect(samples.filter((s) => s.name === 'agentgate_dispatches_total')).toHaveLength(1);
    expect(samples.filter((s) => s.name === 'agentgate_dispatch_legs_total')).toHaveLength(1);
    expect(samples.filter((s) => s.name === 'agentgate_http_requests_total')).toHaveLength(1);
  });

  it('Redis Store: the connection gauge is 1 once connected and 0 after it closes', async () => {
    const metrics = createPrometheusMetrics({ defaultMetrics: false });
    const prefix = uniquePrefix();
    const config = validateConfig({
      instance: { id: 'm' },
      servers: [{ name: 'pbx1', ami: { host: '127.0.0.1', port: 5038, username: 'u', secret: 's' } }],
      store: { redis: { url: REDIS_URL, prefix } },
      directory: { users: [] },
    });
    const store = await createStore(config, { clock: systemClock(), logger: silentLogger(), metrics });
    try {
      expect(sampleValue(await text(metrics), 'agentgate_connection_up', { system: 'redis', server: 'redis' })).toBe(1);
    } finally {
      await store.close();
      await deletePrefix(prefix);
    }
    await until(
      async () => sampleValue(await text(metrics), 'agentgate_connection_up', { system: 'redis', server: 'redis' }) === 0,
      2000,
      'closed',
    );
  });
});
