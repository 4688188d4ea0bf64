/**
 * AMI conformance: every recording in test/fixtures/asterisk-22.7/recordings/ami is replayed against the
 * simulator over TCP — the same bytes the client sent — and every message that came back is
 * compared with what Asterisk 22.7 answered: header names in order and their values, except values
 * that change from run to run (timestamps, uptimes, login/pause times, unique ids, channel sequence
 * numbers). Messages the simulator does not model are left out on both sides and listed here:
 * channel lifecycle events of a Local originate (Newchannel, LocalBridge, Newexten, VarSet,
 * HangupRequest, SoftHangupRequest, Hangup, Newstate, NewCallerid, NewConnectedLine, DialBegin,
 * DialEnd, DialState, and DeviceStateChange of channel devices). `Timestamp:` headers (that session ran with timestampevents=yes) are ignored.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Simulator } from '../../src/sim/index.js';

const ROOT = new URL('../fixtures/asterisk-22.7/recordings/ami/', import.meta.url).pathname;
const NOT_MODELLED = new Set([
  'Newchannel',
  'LocalBridge',
  'Newexten',
  'VarSet',
  'HangupRequest',
  'SoftHangupRequest',
  'Hangup',
  'Newstate',
  'NewCallerid',
  'NewConnectedLine',
  'DialBegin',
  'DialEnd',
  'DialState',
  'OriginateResponse',
]);
const VOLATILE = new Set(['timestamp', 'uptime', 'lastreload', 'logintime', 'lastpause', 'uniqueid', 'linkedid']);

interface Line {
  t: number;
  dir?: 'send' | 'recv';
  text?: string;
}

/** Messages of an AMI byte stream (banner line aside), each as [name, value] pairs. */
function messages(text: string): Array<Array<[string, string]>> {
  const body = text.replace(/^Asterisk Call Manager\/[\d.]+\r\n/, '');
  return body
    .split('\r\n\r\n')
    .filter((m) => m.trim() !== '')
    .map((m) =>
      m
        .split('\r\n')
        .filter((l) => l.includes(':'))
        .map((l) => {
          const i = l.indexOf(':');
          return [l.slice(0, i), l.slice(i + 1).replace(/^ /, '')] as [string, string];
        }),
    );
}

function comparable(msgs: Array<Array<[string, string]>>): string[] {
  const out: string[] = [];
  for (const m of msgs) {
    const event = m.find(([k]) => k.toLowerCase() === 'event')?.[1];
    if (event && NOT_MODELLED.has(event)) continue;
    // Device states of channels (not of queues) belong to the channel lifecycle, not modelled.
    if (event === 'DeviceStateChange' && !m.some(([k, v]) => k === 'Device' && v.startsWith('Queue:'))) continue;
    out.push(
      m
        .filter(([k]) => k.toLowerCase() !== 'timestamp')
        .map(([k, v]) => {
          const lk = k.toLowerCase();
          if (VOLATILE.has(lk)) return `${k}: *`;
          if (lk === 'channel') return `${k}: ${v.replace(/-[0-9a-f]{8}(;\d)?$/, '-N$1')}`;
          return `${k}: ${v}`;
        })
        .join(' | '),
    );
  }
  return out;
}

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.stop();
  sim = undefined;
});

describe('AMI conformance with the recordings of Asterisk 22.7', () => {
  const files = readdirSync(ROOT)
    .filter((f) => f.endsWith('.jsonl'))
    .sort();

  it('finds the recordings', () => {
    expect(files.length).toBeGreaterThanOrEqual(6);
  });

  for (const file of files) {
    it(`replays ami/${file}`, async () => {
      const lines = readFileSync(join(ROOT, file), 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as Line);
      sim = await Simulator.start({ amiAuthFailDelayMs: 1000 });
      const socket = connect(sim.amiPort, '127.0.0.1');
      let received = '';
      socket.on('data', (d) => (received += d.toString('utf8')));
      await new Promise((r) => socket.once('connect', r));
      const recorded = lines
        .filter((l) => l.dir === 'recv')
        .map((l) => l.text!)
        .join('');
      const expected = comparable(messages(recorded));
      const quiet = async (): Promise<void> => {
        // Wait until the simulator has said everything it will say for this step (auth failure: ~1 s).
        let last = received.length;
        for (let i = 0; i < 150; i++) {
          await new Promise((r) => setTimeout(r, 20));
          if (received.length === last && i > 5) return;
          last = received.length;
        }
      };
      await quiet();
      for (const l of lines) {
        if (l.dir !== 'send') continue;
        socket.write(l.text!);
        if (/Action: Login/i.test(l.text!) && /wrong/.test(l.text!)) await new Promise((r) => setTimeout(r, 1100));
        await quiet();
      }
      socket.destroy();
      expect(received.startsWith('Asterisk Call Manager/11.0.0\r\n')).toBe(true);
      expect(comparable(messages(received)), `AMI messages of ${file}`).toEqual(expected);
    });
  }
});
