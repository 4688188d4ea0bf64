/**
 * The ARI REST adapter's input and output checks (issue 12, items 12 and 2): every value that would
 * reach Asterisk is refused when it holds a C0 control character or DEL (TAB passes), before any
 * byte is sent, with an error naming the field; an answer from Asterisk that is not the JSON the
 * operation promises is a clear AGENTGATE_ERR_ARI_FAILED; error messages name the operation.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Simulator } from '../../../src/sim/index.js';
import { AriRest } from '../../../src/adapters/ari/rest.js';
import { until } from '../../support/dispatch-harness.js';
import { recordEvents } from '../../support/ari-events.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups.length = 0;
});

/** A port nothing listens on: a request that were sent would fail with AGENTGATE_ERR_ARI_DISCONNECTED. */
async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('ARI REST: control characters never reach Asterisk', () => {
  const cases: Array<[string, (rest: AriRest) => Promise<unknown>, string]> = [
    ['NUL in a channel variable value', (rest) => rest.setVar('c1', 'AGENTGATE_RESULT', 'BUSY\u0000'), 'value'],
    ['ESC in a channel variable name', (rest) => rest.setVar('c1', 'AGENTGATE_\u001bRESULT', 'BUSY'), 'variable'],
    ['LF in a channel id (path)', (rest) => rest.hangup('c1\nX-Injected: 1', 'normal'), 'channelId'],
    ['CR in a bridge id (path)', (rest) => rest.destroyBridge('b1\r'), 'bridgeId'],
    [
      'VT in a dialplan context',
      (rest) => rest.continueInDialplan('c1', { context: 'queues\u000b', extension: 's', priority: 1 }),
      'context',
    ],
    [
      'FF in an endpoint (query)',
      (rest) => rest.createChannel({ endpoint: 'PJSIP/2001\u000c', app: 'agentgate', appArgs: 'leg,x', channelId: 'l1' }),
      'endpoint',
    ],
    [
      'DEL in a create-body variable value',
      (rest) =>
        rest.createChannel({
          endpoint: 'PJSIP/2001',
          app: 'agentgate',
          appArgs: 'leg,x',
          channelId: 'l1',
          variables: { AGENTGATE_CALL: 'x\u007f' },
        }),
      'body.variables.AGENTGATE_CALL',
    ],
    [
      'BEL in a create-body variable name',
      (rest) =>
        rest.createChannel({ endpoint: 'PJSIP/2001', app: 'agentgate', appArgs: 'leg,x', channelId: 'l1', variables: { 'A\u0007': 'x' } }),
      'body.variables key',
    ],
    ['US in a media URI', (rest) => rest.play('c1', 'sound:beep\u001f'), 'media'],
    ['ESC in a hang-up reason', (rest) => rest.hangup('c1', 'normal\u001b[2J'), 'reason'],
  ];
  for (const [name, send, field] of cases) {
    it(`${name}: refused before sending, AGENTGATE_ERR_VALIDATION naming ${field}`, async () => {
      const rest = new AriRest({ url: `http://127.0.0.1:${await deadPort()}`, username: 'agentgate', password: 'secret', timeoutMs: 500 });
      cleanups.push(() => rest.close());
      const err = await send(rest).then(
        () => undefined,
        (e: unknown) => e as { code: string; field: string; message: string },
      );
      expect(err).toMatchObject({ code: 'AGENTGATE_ERR_VALIDATION', field });
      expect(err!.message).toMatch(/control character/);
      expect(err!.message).toContain(field);
    });
  }

  it('TAB passes: a value with a tab is set as sent', async () => {
    const sim = await Simulator.start();
    cleanups.push(() => sim.stop());
    const rec = await recordEvents(sim);
    cleanups.push(() => rec.events.stop());
    const rest = new AriRest({ url: sim.ariUrl, username: 'agentgate', password: 'secret', timeoutMs: 2000 });
    cleanups.push(() => rest.close());
    const call = await sim.dialIn({ args: ['x'] });
    await until(() => rec.starts.includes(call.id), 3000, 'StasisStart');
    await rest.setVar(call.id, 'NOTE', 'a\tb');
    expect(sim.pbx.variable(call.id, 'NOTE')).toBe('a\tb');
    await call.hangup();
  });
});

describe('ARI REST: channel variables in the create body', () => {
  it('variables given to createChannel travel in the /channels/create body and are on the leg from its start', async () => {
    const sim = await Simulator.start();
    cleanups.push(() => sim.stop());
    const rec = await recordEvents(sim);
    cleanups.push(() => rec.events.stop());
    const rest = new AriRest({ url: sim.ariUrl, username: 'agentgate', password: 'secret', timeoutMs: 2000 });
    cleanups.push(() => rest.close());
    await rest.createChannel({
      endpoint: 'PJSIP/1002',
      app: 'agentgate',
      appArgs: 'leg,x',
      channelId: 'leg-v1',
      variables: { AGENTGATE_CALL: 'x1', 'PJSIP_TRANSFER_HANDLING()': 'ari-only' },
    });
    expect(sim.pbx.variable('leg-v1', 'AGENTGATE_CALL')).toBe('x1');
    expect(sim.pbx.variable('leg-v1', 'PJSIP_TRANSFER_HANDLING()')).toBe('ari-only');
    await until(() => rec.starts.includes('leg-v1'), 3000, 'StasisStart');
    await rest.hangup('leg-v1');
  });
});

describe('ARI REST: answers and errors', () => {
  it('an answer that is not JSON is AGENTGATE_ERR_ARI_FAILED saying so, not a SyntaxError', async () => {
    const sim = await Simulator.start();
    cleanups.push(() => sim.stop());
    const rest = new AriRest({ url: sim.ariUrl, username: 'agentgate', password: 'secret', timeoutMs: 2000 });
    cleanups.push(() => rest.close());
    sim.faults.answerRawRest(/^GET \/channels$/, 200, '[{"id": "a", ');
    const err = await rest.listChannels().then(
      () => undefined,
      (e: unknown) => e as { code: string; message: string },
    );
    expect(err).toMatchObject({ code: 'AGENTGATE_ERR_ARI_FAILED' });
    expect(err!.message).toBe('ARI GET /channels failed: Asterisk answered 200 with a body that is not JSON: "[{\\"id\\": \\"a\\", "');
  });

  it('an answer of the wrong shape is AGENTGATE_ERR_ARI_FAILED naming the field, not a TypeError later', async () => {
    const sim = await Simulator.start();
    cleanups.push(() => sim.stop());
    const rest = new AriRest({ url: sim.ariUrl, username: 'agentgate', password: 'secret', timeoutMs: 2000 });
    cleanups.push(() => rest.close());
    sim.faults.answerRawRest(/^GET \/endpoints\/PJSIP\/2001$/, 200, '{"technology":"PJSIP","resource":"2001","state":5}');
    await expect(rest.endpoint('PJSIP', '2001')).rejects.toMatchObject({
      code: 'AGENTGATE_ERR_ARI_FAILED',
      message: expect.stringContaining('/state'),
    });
    sim.faults.answerRawRest(/^GET \/channels$/, 200, '{"channels":[]}');
    await expect(rest.listChannels()).rejects.toMatchObject({
      code: 'AGENTGATE_ERR_ARI_FAILED',
      message: expect.stringContaining('unexpected answer'),
    });
  });

  it('error messages name the operation: timeout and Asterisk error status', async () => {
    const sim = await Simulator.start();
    cleanups.push(() => sim.stop());
    const rest = new AriRest({ url: sim.ariUrl, username: 'agentgate', password: 'secret', timeoutMs: 150 });
    cleanups.push(() => rest.close());
    await expect(rest.hangup('nope')).rejects.toMatchObject({
      code: 'AGENTGATE_ERR_ARI_FAILED',
      httpStatus: 404,
      message: 'ARI DELETE /channels/nope failed: 404 {"message":"Channel not found"}',
    });
    sim.faults.delayRest(/GET \/channels$/, 1000);
    await expect(rest.listChannels()).rejects.toMatchObject({
      code: 'AGENTGATE_ERR_ARI_TIMEOUT',
      message: 'ARI GET /channels got no answer within 150 ms',
    });
  });
});
