/**
 * `agentgate demo --no-wait` as the README's first command runs it (its own process, the simulator and
 * the daemon over real sockets): the timeline a newcomer reads, in particular the call-control part
 * (src/cli/demo-call-control.ts) done over the real HTTP API with real tokens.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';

let code: number | null = null;
/** The demo's output with the `+  1.23s  ` timestamps taken off. */
let lines: string[] = [];
const text = (): string => lines.join('\n');
/** The first line containing `part`, for readable failures. */
const lineWith = (part: string): string | undefined => lines.find((l) => l.includes(part));

beforeAll(async () => {
  const r = await runCli(['demo', '--no-wait']);
  code = r.code;
  lines = r.output.split('\n').map((l) => l.replace(/^\+\s*\d+\.\d+s {2}/, ''));
}, 60_000);

describe('agentgate demo --no-wait', () => {
  it('walks through every part in order and stops cleanly (exit 0)', () => {
    expect(code, text()).toBe(0);
    const titles = [
      '1. A call for alice',
      '3. Supervisor sam logs alice',
      '7. Call control',
      '8. Alice puts the customer on hold',
      '9. Transfers the policy refuses',
      '10. Alice transfers',
    ];
    const at = titles.map((t) => lines.findIndex((l) => l.startsWith(t)));
    expect(
      at.every((i) => i >= 0),
      text(),
    ).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
    expect(lines).toContain('demo stopped cleanly');
  });

  it("shows the agent's call over GET /v1/calls with the buttons she may press and why one is missing", () => {
    expect(lineWith('GET /v1/calls as alice'), text()).toMatch(/call \S+, talking on PJSIP\/1001$/);
    // Now, not in general: the call is not on hold, so no unhold button.
    expect(lineWith('buttons alice may press')).toMatch(/: hold, hangup, transfer, directTransfer$/);
    expect(lineWith('no requeue button')).toMatch(/alice has no requeue flag/);
  });

  it('a customer put on hold hears music while the agent stays on the line; unhold stops the music', () => {
    expect(lineWith('/hold →'), text()).toMatch(/→ 200: the call is on_hold$/);
    expect(lines).toContain('   the customer hears: music (music on hold)');
    expect(lines).toContain("   alice's desk phone: still on the line, in the bridge with the customer");
    expect(lineWith('/unhold →')).toMatch(/→ 200: the music stops, the customer talks to alice again$/);
  });

  it("a transfer by someone whose transfer flag is off is refused with the policy's reason, nothing sent", () => {
    expect(lineWith('{"to":"0612345678"} as sam'), text()).toMatch(/→ 403 AGENTGATE_ERR_FORBIDDEN$/);
    expect(lines).toContain('   ✗ flag: sam has no transfer flag');
    expect(lines).toContain('   nothing was sent to Asterisk: the customer is still talking to alice');
  });

  it("the desk phone's Transfer to a number the agent may not call is refused: the phone is told 603 Decline", () => {
    expect(lineWith("alice's desk phone presses Transfer to 00441632960000"), text()).toMatch(
      /the phone is told: .*SIP\/2\.0 603 Decline$/,
    );
    expect(lineWith('internationalTransfer')).toMatch(/^ {3}✗ flag: /);
    expect(lines).toContain('   the call goes on: the customer is still talking to alice');
  });

  it("a direct transfer rings bob's devices: one answers, the other is hung up as answered elsewhere, alice is released", () => {
    expect(lineWith('{"agent":"bob","mode":"blind"} →'), text()).toMatch(/→ 200: ringing bob on PJSIP\/1002, PJSIP\/2002$/);
    expect(lines).toContain("   the customer hears: music while bob's devices ring");
    expect(lines).toContain('   bob answered on PJSIP/2002: the music stops, the customer talks to bob');
    expect(lineWith("bob's device PJSIP/1002 hung up")).toMatch(/\(cause 26\)$/);
    expect(lineWith("alice's desk phone PJSIP/1001 hung up")).toMatch(/\(cause 16\)$/);
    expect(lines).toContain('   alice is released: GET /v1/calls as alice lists no call');
  });
});
