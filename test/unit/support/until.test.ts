/** The polling helper the integration tests share (test/support/dispatch-harness.ts `until`). */
import { describe, expect, it } from 'vitest';
import { until } from '../../support/dispatch-harness.js';

describe('until', () => {
  it('resolves as soon as the condition holds, sync or async', async () => {
    let n = 0;
    await until(() => ++n >= 3, 1000);
    expect(n).toBe(3);
    let m = 0;
    await until(async () => ++m >= 2, 1000);
    expect(m).toBe(2);
  });

  it('fails after the timeout naming what it waited for', async () => {
    await expect(until(() => false, 50, 'the bridge')).rejects.toThrow('timed out waiting for the bridge');
  });

  it('reads a message given as a function when the wait fails: output written during the wait is in it', async () => {
    let output = 'starting\n';
    setTimeout(() => (output += 'ARI refused the credentials\n'), 20);
    await expect(
      until(
        () => false,
        150,
        () => `the daemon to start:\n${output}`,
      ),
    ).rejects.toThrow('ARI refused the credentials');
  });

  it('tries a condition that throws again, and keeps its last error as the cause', async () => {
    let n = 0;
    await until(() => {
      if (++n < 3) throw new Error('connection refused');
      return true;
    }, 1000);
    expect(n).toBe(3);
    const err = await until(
      () => {
        throw new Error('connection refused');
      },
      50,
      'the API',
    ).catch((e: unknown) => e);
    expect(err).toMatchObject({ message: 'timed out waiting for the API', cause: { message: 'connection refused' } });
  });

  it('names what it waited for when the last check never answered', async () => {
    await expect(until(() => new Promise<boolean>(() => undefined), 50, 'a frozen Redis')).rejects.toThrow(
      'timed out waiting for a frozen Redis',
    );
  });
});
