/**
 * Secrets never reach a terminal or a log: a config whose ARI password comes from ${ARI_PASSWORD} and
 * AMI secret from secret_file, checked with `agentgate check-config` and run as a daemon at trace
 * level against the simulator (which accepts only those secrets), with an API token in use.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { sha256 } from '../../src/app/tokens.js';
import { main } from '../../src/cli/main.js';
import { loadConfigFile } from '../../src/config/load.js';
import { startDaemon } from '../../src/daemon.js';
import { createLogger } from '../../src/log.js';
import { Simulator } from '../../src/sim/index.js';
import { captureOutput } from '../support/cli.js';

const ARI_MARK = 'ari-pw-5f1c0e';
const AMI_MARK = 'ami-secret-9b27d4';
const TOKEN = 'agt_token-never-logged-0123456789';

const cleanups: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
  for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => undefined);
  cleanups.length = 0;
});

function writeConfig(sim: { ariUrl: string; amiPort: number }, extra = ''): string {
  const dir = mkdtempSync(join(tmpdir(), 'agentgate-secret-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'ami_secret'), `${AMI_MARK}\n`);
  const file = join(dir, 'agentgate.yaml');
  writeFileSync(
    file,
    `servers:
  - name: pbx1
    ari: { url: '${sim.ariUrl}', username: agentgate, password: '\${ARI_PASSWORD}' }
    ami: { host: 127.0.0.1, port: ${sim.amiPort}, username: agentgate, secret_file: ami_secret }
http: { port: 0 }
tokens:
  - { user: olivia, sha256: ${sha256(TOKEN)}, label: test }
directory:
  users: [{ id: olivia, role: administrator, scope: office_manager }]
${extra}`,
  );
  return file;
}

describe('secrets stay out of output', () => {
  it('pino redacts passwords, secrets, tokens and Authorization headers at any depth up to four', () => {
    let out = '';
    const logger = createLogger({ level: 'info' }, new Writable({ write: (c: Buffer, _e, cb) => ((out += c.toString()), cb()) }));
    logger.info(
      { password: 'p1', server: { ari: { password: 'p2' }, ami: { secret: 'p3' } }, config: { servers: { ari: { password: 'p4' } } } },
      'a',
    );
    logger.info({ req: { headers: { authorization: 'Bearer p5' } }, token: 'p6' }, 'b');
    for (const p of ['p1', 'p2', 'p3', 'p4', 'p5', 'p6']) expect(out).not.toContain(`"${p}`);
    expect(out).not.toContain('Bearer');
    expect(out.match(/\[redacted\]/g)).toHaveLength(6);
  });

  it('check-config resolves the secrets and prints none of them, valid or not', async () => {
    vi.stubEnv('ARI_PASSWORD', ARI_MARK);
    const file = writeConfig({ ariUrl: 'http://127.0.0.1:8088', amiPort: 5038 });
    const bad = writeConfig({ ariUrl: 'http://127.0.0.1:8088', amiPort: 5038 }, 'dispatch: { answer: sometimes }\n');
    const io = captureOutput();
    expect(await main(['check-config', '-c', file])).toBe(0);
    expect(await main(['check-config', '-c', bad])).toBe(1);
    expect(io.err()).toContain('dispatch.answer');
    expect(io.out() + io.err()).not.toContain(ARI_MARK);
    expect(io.out() + io.err()).not.toContain(AMI_MARK);
  });

  it('the daemon logs in with them at trace level and logs none of them, nor the API token', async () => {
    const sim = await Simulator.start({
      ariUsers: [{ username: 'agentgate', password: ARI_MARK }],
      amiUsers: [{ username: 'agentgate', secret: AMI_MARK }],
    });
    cleanups.push(() => sim.stop());
    const cfg = loadConfigFile(writeConfig(sim), { ARI_PASSWORD: ARI_MARK, AGENTGATE_LOG_LEVEL: 'trace' });
    expect(cfg.log.level).toBe('trace');
    let logs = '';
    const logger = createLogger({ level: cfg.log.level }, new Writable({ write: (c: Buffer, _e, cb) => ((logs += c.toString()), cb()) }));
    const daemon = await startDaemon(cfg, { logger });
    cleanups.push(() => daemon.stop());
    expect((await daemon.health()).ok).toBe(true);

    const ok = await fetch(`${daemon.httpUrl}/v1/me/capabilities`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).toBe(200);
    const denied = await fetch(`${daemon.httpUrl}/v1/me/capabilities`, { headers: { Authorization: `Bearer ${TOKEN}x` } });
    expect(denied.status).toBe(401);
    await daemon.stop();

    expect(logger.level).toBe('trace');
    expect(logs).toContain('ARI websocket connected');
    expect(logs).toContain('AMI connected');
    for (const secret of [ARI_MARK, AMI_MARK, TOKEN, Buffer.from(`agentgate:${ARI_MARK}`).toString('base64')])
      expect(logs).not.toContain(secret);
  });
});
