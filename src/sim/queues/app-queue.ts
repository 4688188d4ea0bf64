/**
 * app_queue's member table as AMI shows it: queues from configuration (static members included),
 * dynamic members added and removed by QueueAdd/QueueRemove, pause with reason, penalty. Every
 * operation returns Asterisk's own message text (recordings/ami/queue-member-lifecycle.jsonl) and the
 * events it raises, in Asterisk's order.
 */
export interface QueueConfig {
  name: string;
  strategy?: string;
  members?: { interface: string; memberName?: string; stateInterface?: string; penalty?: number }[];
}

/** The recorded queues.conf: support (ringall), sales (rrmemory, one static member). */
export const DEFAULT_QUEUES: QueueConfig[] = [
  { name: 'support', strategy: 'ringall' },
  { name: 'sales', strategy: 'rrmemory', members: [{ interface: 'Local/static@agents', memberName: 'Static Member', penalty: 0 }] },
];

export interface Member {
  queue: string;
  memberName: string;
  interface: string;
  stateInterface: string;
  membership: 'dynamic' | 'static';
  penalty: number;
  callsTaken: number;
  lastCall: number;
  lastPause: number;
  loginTime: number;
  inCall: number;
  status: number;
  paused: boolean;
  pausedReason: string;
  ringinuse: number;
  wrapuptime: number;
}

export type Fields = Array<[string, string]>;

export interface QueueResult {
  ok: boolean;
  message: string;
  /** Events to broadcast after the response, each a list of headers starting with Event. */
  events: Fields[];
}

const nowSec = (): number => Math.floor(Date.now() / 1000);

function memberEventFields(event: string, m: Member): Fields {
  return [
    ['Event', event],
    ['Privilege', 'agent,all'],
    ['Queue', m.queue],
    ['MemberName', m.memberName],
    ['Interface', m.interface],
    ['StateInterface', m.stateInterface],
    ['Membership', m.membership],
    ['Penalty', String(m.penalty)],
    ['CallsTaken', String(m.callsTaken)],
    ['LastCall', String(m.lastCall)],
    ['LastPause', String(m.lastPause)],
    ['LoginTime', String(m.loginTime)],
    ['InCall', String(m.inCall)],
    ['Status', String(m.status)],
    ['Paused', m.paused ? '1' : '0'],
    ['PausedReason', m.pausedReason],
    ['Ringinuse', String(m.ringinuse)],
    ['Wrapuptime', String(m.wrapuptime)],
  ];
}

const deviceState = (device: string, state: string): Fields => [
  ['Event', 'DeviceStateChange'],
  ['Privilege', 'call,all'],
  ['Device', device],
  ['State', state],
];

const truthy = (v: string | undefined): boolean => v !== undefined && /^(true|yes|1|on)$/i.test(v.trim());

/**
 * A member's Status from its state interface, as app_queue reads device state: a Local channel
 * device is INVALID (4) and a Custom: device UNKNOWN (0) until set (both recorded); other devices
 * report NOT_INUSE (1) here.
 */
function deviceStatus(stateInterface: string): number {
  if (stateInterface.startsWith('Local/')) return 4;
  if (stateInterface.startsWith('Custom:')) return 0;
  return 1;
}

export class AppQueue {
  private readonly queues = new Map<string, { config: QueueConfig; members: Map<string, Member> }>();
  /** Device states app_queue publishes (`Queue:<q>_avail`, `Queue:<q>_pause_<iface>`): events only on change. */
  private readonly devices = new Map<string, string>();

  constructor(private readonly config: QueueConfig[] = DEFAULT_QUEUES) {
    this.reset();
  }

  /** Back to configuration: dynamic members gone (a restart of Asterisk without persistence). */
  reset(): void {
    this.queues.clear();
    this.devices.clear();
    for (const q of this.config) {
      const members = new Map<string, Member>();
      for (const s of q.members ?? [])
        members.set(s.interface, this.newMember(q.name, s.interface, s.memberName, s.stateInterface, s.penalty ?? 0, 'static', false, ''));
      this.queues.set(q.name, { config: q, members });
      this.devices.set(`Queue:${q.name}_avail`, this.availState(q.name));
    }
  }

  /** INUSE unless some member can take a call (not paused, device not invalid or unavailable). */
  private availState(queue: string): string {
    const q = this.queues.get(queue);
    const ok = q !== undefined && [...q.members.values()].some((m) => !m.paused && m.status !== 4 && m.status !== 5);
    return ok ? 'NOT_INUSE' : 'INUSE';
  }

  /** A DeviceStateChange event when the device's state changed, else nothing. */
  private device(name: string, state: string, events: Fields[]): void {
    if (this.devices.get(name) === state) return;
    this.devices.set(name, state);
    events.push(deviceState(name, state));
  }

  private newMember(
    queue: string,
    iface: string,
    name: string | undefined,
    state: string | undefined,
    penalty: number,
    membership: 'dynamic' | 'static',
    paused: boolean,
    reason: string,
  ): Member {
    const stateInterface = state || iface;
    return {
      queue,
      memberName: name || iface,
      interface: iface,
      stateInterface,
      membership,
      penalty,
      callsTaken: 0,
      lastCall: 0,
      lastPause: paused ? nowSec() : 0,
      loginTime: nowSec(),
      inCall: 0,
      status: deviceStatus(stateInterface),
      paused,
      pausedReason: paused ? reason : '',
      ringinuse: 1,
      wrapuptime: 0,
    };
  }

  /** Every member (tests and the demo read the "real" state through this). */
  members(queue?: string): Member[] {
    const out: Member[] = [];
    for (const [name, q] of this.queues) if (queue === undefined || name === queue) for (const m of q.members.values()) out.push({ ...m });
    return out;
  }

  add(h: Record<string, string>): QueueResult {
    const iface = h.interface;
    if (!iface) return { ok: false, message: "'Interface' not specified.", events: [] };
    const q = this.queues.get(h.queue ?? '');
    if (!q) return { ok: false, message: 'Unable to add interface to queue: No such queue', events: [] };
    if (q.members.has(iface)) return { ok: false, message: 'Unable to add interface: Already there', events: [] };
    const penalty = h.penalty === undefined || h.penalty === '' ? 0 : Number(h.penalty);
    if (!Number.isInteger(penalty) || penalty < 0) return { ok: false, message: 'Out of memory', events: [] };
    const paused = truthy(h.paused);
    const m = this.newMember(q.config.name, iface, h.membername, h.stateinterface, penalty, 'dynamic', paused, h.reason ?? '');
    q.members.set(iface, m);
    const events: Fields[] = [memberEventFields('QueueMemberAdded', m)];
    if (paused) this.device(`Queue:${q.config.name}_pause_${iface}`, 'INUSE', events);
    this.device(`Queue:${q.config.name}_avail`, this.availState(q.config.name), events);
    return { ok: true, message: 'Added interface to queue', events };
  }

  remove(h: Record<string, string>): QueueResult {
    const iface = h.interface;
    if (!iface || !h.queue) return { ok: false, message: "'Queue' or 'Interface' not specified.", events: [] };
    const q = this.queues.get(h.queue);
    if (!q) return { ok: false, message: 'Unable to remove interface from queue: No such queue', events: [] };
    const m = q.members.get(iface);
    if (!m) return { ok: false, message: 'Unable to remove interface: Not there', events: [] };
    if (m.membership !== 'dynamic') return { ok: false, message: 'Member not dynamic', events: [] };
    q.members.delete(iface);
    const events: Fields[] = [memberEventFields('QueueMemberRemoved', m)];
    if (this.devices.has(`Queue:${q.config.name}_pause_${iface}`))
      this.device(`Queue:${q.config.name}_pause_${iface}`, 'NOT_INUSE', events);
    this.device(`Queue:${q.config.name}_avail`, this.availState(q.config.name), events);
    return { ok: true, message: 'Removed interface from queue', events };
  }

  pause(h: Record<string, string>): QueueResult {
    const iface = h.interface;
    if (!iface || h.paused === undefined) return { ok: false, message: "Need 'Interface' and 'Paused' parameters.", events: [] };
    const paused = truthy(h.paused);
    const targets: Member[] = [];
    for (const [name, q] of this.queues) {
      if (h.queue !== undefined && h.queue !== name) continue;
      const m = q.members.get(iface);
      if (m) targets.push(m);
    }
    if (targets.length === 0) return { ok: false, message: 'Interface not found', events: [] };
    const events: Fields[] = [];
    for (const m of targets) {
      m.paused = paused;
      m.pausedReason = paused ? (h.reason ?? '') : '';
      if (paused) m.lastPause = nowSec();
      this.device(`Queue:${m.queue}_pause_${m.interface}`, paused ? 'INUSE' : 'NOT_INUSE', events);
      this.device(`Queue:${m.queue}_avail`, this.availState(m.queue), events);
      events.push(memberEventFields('QueueMemberPause', m));
    }
    return { ok: true, message: paused ? 'Interface paused successfully' : 'Interface unpaused successfully', events };
  }

  penalty(h: Record<string, string>): QueueResult {
    const iface = h.interface;
    const penalty = Number(h.penalty);
    const bad = { ok: false, message: 'Invalid interface, queuename or penalty', events: [] };
    if (!iface || h.penalty === undefined || h.penalty === '' || !Number.isInteger(penalty) || penalty < 0) return bad;
    const events: Fields[] = [];
    for (const [name, q] of this.queues) {
      if (h.queue !== undefined && h.queue !== name) continue;
      const m = q.members.get(iface);
      if (!m) continue;
      m.penalty = penalty;
      events.push(memberEventFields('QueueMemberPenalty', m));
    }
    if (events.length === 0) return bad;
    return { ok: true, message: 'Interface penalty set successfully', events };
  }

  /** QueueStatus list items (QueueParams then QueueMember per member), ActionID added by the server. */
  status(h: Record<string, string>): Fields[] {
    const items: Fields[] = [];
    for (const [name, q] of this.queues) {
      if (h.queue !== undefined && h.queue !== '' && h.queue !== name) continue;
      items.push([
        ['Event', 'QueueParams'],
        ['Queue', name],
        ['Max', '0'],
        ['Strategy', q.config.strategy ?? 'ringall'],
        ['Calls', '0'],
        ['Holdtime', '0'],
        ['TalkTime', '0'],
        ['Completed', '0'],
        ['Abandoned', '0'],
        ['ServiceLevel', '0'],
        ['ServicelevelPerf', '0.0'],
        ['ServicelevelPerf2', '0.0'],
        ['Weight', '0'],
      ]);
      for (const m of q.members.values()) {
        if (h.member !== undefined && h.member !== '' && h.member !== m.interface) continue;
        items.push([
          ['Event', 'QueueMember'],
          ['Queue', name],
          ['Name', m.memberName],
          ['Location', m.interface],
          ['StateInterface', m.stateInterface],
          ['Membership', m.membership],
          ['Penalty', String(m.penalty)],
          ['CallsTaken', String(m.callsTaken)],
          ['LastCall', String(m.lastCall)],
          ['LastPause', String(m.lastPause)],
          ['LoginTime', String(m.loginTime)],
          ['InCall', String(m.inCall)],
          ['Status', String(m.status)],
          ['Paused', m.paused ? '1' : '0'],
          ['PausedReason', m.pausedReason],
          ['Wrapuptime', String(m.wrapuptime)],
        ]);
      }
    }
    return items;
  }
}
