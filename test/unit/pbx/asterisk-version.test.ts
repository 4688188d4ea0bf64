/**
 * Which Asterisk has PJSIP_TRANSFER_HANDLING() (src/domain/pbx/asterisk-version.ts), and what a new
 * leg is created with on each (src/app/dispatch/transfer-handling.ts): the variable when the version
 * has it or is unknown, nothing and one warning per version when it is older.
 */
import { describe, expect, it } from 'vitest';
import { hasTransferHandling } from '../../../src/domain/pbx/asterisk-version.js';
import { legVariables } from '../../../src/app/dispatch/transfer-handling.js';
import { unitRig } from '../../support/fake-call-control.js';
import { captureLogs } from '../../support/log-capture.js';

describe('hasTransferHandling (since 20.13.0 / 21.8.0 / 22.3.0)', () => {
  it.each([
    ['22.7.0', true],
    ['22.3.0', true],
    ['22.2.9', false],
    ['22.10.0', true],
    ['21.8.0', true],
    ['21.7.1', false],
    ['21.12.0', true],
    ['20.13.0', true],
    ['20.12.5', false],
    ['20.2.0', false],
    ['23.0.0', true],
    ['24.1.0', true],
    ['19.8.1', false],
    ['18.26.0', false],
    ['certified-20.7-cert3', false],
    ['certified/22.8-cert1', true],
    ['22.3', true],
    ['GIT-master-abc123', undefined],
    ['GIT-22.7.0-abc', undefined],
    ['19.99.0', false],
    ['', undefined],
  ])('%s: %s', (version, expected) => {
    expect(hasTransferHandling(version)).toBe(expected);
  });
});

describe('the variables a new leg is created with', () => {
  const ARI_ONLY = { 'PJSIP_TRANSFER_HANDLING()': 'ari-only' };
  const rig = (version: string | undefined) => {
    const logs = captureLogs();
    const r = unitRig();
    r.calls.version = version;
    return { ctx: { ...r.ctx, log: logs.logger }, logs };
  };

  it('a PJSIP leg on 22.7.0, or on an Asterisk whose version is unknown: ari-only, no warning', async () => {
    for (const v of ['22.7.0', 'GIT-master-abc123', undefined]) {
      const { ctx, logs } = rig(v);
      expect(await legVariables(ctx, 'PJSIP/2001')).toEqual(ARI_ONLY);
      expect(await legVariables(ctx, 'pjsip/2001')).toEqual(ARI_ONLY);
      expect(logs.lines.filter((l) => l.level === 40)).toEqual([]);
    }
  });

  it('a Local leg or a trunk: nothing, whatever the version', async () => {
    const { ctx } = rig('22.7.0');
    expect(await legVariables(ctx, 'Local/answer@agents')).toBeUndefined();
    expect(await legVariables(ctx, 'SIP/trunk')).toBeUndefined();
  });

  it('an older Asterisk (22.2.0): nothing (the function does not exist there), and one warning that phone transfers are not controlled', async () => {
    const { ctx, logs } = rig('22.2.0');
    expect(await legVariables(ctx, 'PJSIP/2001')).toBeUndefined();
    expect(await legVariables(ctx, 'PJSIP/2002')).toBeUndefined();
    const warnings = logs.lines.filter((l) => l.level === 40);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ asteriskVersion: '22.2.0' });
    expect(String(warnings[0]!.msg)).toMatch(/22\.2\.0 has no PJSIP_TRANSFER_HANDLING\(\).*NOT controlled by the call flags/);
  });
});
