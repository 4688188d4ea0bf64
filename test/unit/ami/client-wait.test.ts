/** AmiClient.waitConnected: a timeout leaves no timer behind (#12.13), so SIGTERM ends the process at once. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AmiClient } from '../../../src/adapters/ami/client.js';
import { silentLogger } from '../../../src/log.js';

afterEach(() => {
  vi.useRealTimers();
});

function client(): AmiClient {
  return new AmiClient({
    server: 'pbx1',
    host: '127.0.0.1',
    port: 1,
    username: 'u',
    secret: 's',
    actionTimeoutMs: 1000,
    instanceId: 't',
    logger: silentLogger(),
    onEvent: () => undefined,
    onConnected: () => undefined,
  });
}

describe('AmiClient.waitConnected', () => {
  it('rejects after its timeout and leaves no timer running', async () => {
    vi.useFakeTimers();
    const c = client(); // never started: nothing else keeps a timer
    const p = c.waitConnected(500);
    const settled = expect(p).rejects.toMatchObject({ code: 'AGENTGATE_ERR_AMI_DISCONNECTED' });
    await vi.advanceTimersByTimeAsync(500);
    await settled;
    expect(vi.getTimerCount()).toBe(0);
  });

  it('stop() settles a waiter at once', async () => {
    vi.useFakeTimers();
    const c = client();
    const p = c.waitConnected(60_000);
    c.stop();
    await expect(p).rejects.toMatchObject({ code: 'AGENTGATE_ERR_AMI_DISCONNECTED' });
    expect(vi.getTimerCount()).toBe(0);
  });
});
