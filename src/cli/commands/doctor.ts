/**
 * `agentgate doctor [-c agentgate.yaml]`: checks the live PBX(es), Redis and a running agentgate
 * against the config and says what to fix, one line per check. Exit 0 only when nothing needed
 * fails (lines `FAIL`); `warn` lines are worth a look but do not stop agentgate from working.
 *
 * Nothing it does changes the PBX: it never opens an ARI event websocket (that would take the
 * Stasis application away from a running agentgate: ApplicationReplaced), and the AMI probes are a
 * QueuePenalty for an interface that is in no queue (answered "Invalid interface…" when the `agent`
 * write class is granted, "Permission denied" when not) and a UserEvent `AgentGateDoctor`, which
 * agentgate's own handler ignores (it reads only `AgentGate`).
 *
 * Longer than 400 lines on purpose: one small function per check, in the order doctor prints them.
 */
import { Redis } from 'ioredis';
import type { Config } from '../../config/load.js';
import { AriHttpError, AriRest } from '../../adapters/ari/rest.js';
import { AmiProbe } from '../../adapters/ami/probe.js';
import { CONFIG_OPTION, configPath, parse, UsageError } from '../args.js';
import { loadConfigOrReport } from '../config-file.js';
import { hasTransferHandling } from '../../domain/pbx/asterisk-version.js';

export const USAGE = `usage: agentgate doctor [-c file.yaml] [--timeout MS]
  Checks the PBX(es), Redis and a running agentgate against the config, one line per check:
  ARI reachable and its credentials, the Stasis app registered (and whether the running agentgate
  holds it), the Asterisk version and PJSIP_TRANSFER_HANDLING, AMI login and the classes agentgate
  needs (agent write, user read: a UserEvent sent and received), every queue (QueueStatus), every
  address's endpoint and its state, every extension's interface, Redis, the daemon's /readyz.
  Changes nothing on the PBX. Secrets are never printed.
  -c, --config FILE   default: env AGENTGATE_CONFIG, else ./agentgate.yaml
  --timeout MS        per network step (default 3000)
  exit code: 0 everything needed works, 1 a FAIL line (or an invalid config), 2 usage error
`;

export type CheckStatus = 'ok' | 'info' | 'warn' | 'FAIL';

export interface Check {
  status: CheckStatus;
  /** What was checked: `ari pbx1`, `queue support`, `address PJSIP/1001 (alice)`. */
  subject: string;
  text: string;
  /** What to change, for warn and FAIL. */
  fix?: string;
}

/** `PJSIP/1001` → tech and endpoint name; `PJSIP/555@trunk` dials endpoint `trunk`; undefined for Local (dialplan) and malformed strings. */
export function endpointOf(dial: string): { tech: string; resource: string } | undefined {
  const slash = dial.indexOf('/');
  if (slash <= 0) return undefined;
  const tech = dial.slice(0, slash);
  if (tech.toLowerCase() === 'local') return undefined;
  let resource = dial.slice(slash + 1).split('/')[0]!;
  if (tech.toUpperCase() === 'PJSIP' && resource.includes('@')) resource = resource.slice(resource.indexOf('@') + 1);
  return resource === '' ? undefined : { tech, resource };
}

/** Re-exported for the doctor's callers and tests: the rule lives in src/domain/pbx/asterisk-version.ts. */
export { hasTransferHandling };

function message(err: unknown): string {
  const e = err instanceof Error && err.cause instanceof Error ? err.cause : err;
  return e instanceof Error ? e.message : String(e);
}

/** `redis://user:pass@host:6379/0` without its credentials. */
function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return '(unparsable URL)';
  }
}

interface DaemonState {
  url: string;
  /** undefined: no answer (not running, or http disabled). */
  ready?: boolean;
  failing?: Array<{ component: string; reason: string }>;
}

/** Runs every check; never throws (a check that cannot run is a line saying so). */
export async function runDoctor(config: Config, opts: { timeoutMs?: number } = {}): Promise<Check[]> {
  const timeoutMs = opts.timeoutMs ?? 3000;
  const checks: Check[] = [];
  const add = (c: Check): void => void checks.push(c);
  const firstAmi = config.servers.find((s) => s.ami !== undefined)?.name;
  const ariServers = config.servers.filter((s) => s.ari !== undefined).map((s) => s.name);

  // A running agentgate first: its /readyz tells who holds the Stasis app.
  const daemon = await checkDaemon(config, timeoutMs, add);

  // Endpoints seen on each ARI server, for the address and extension checks below.
  const endpointsOn = new Map<string, Map<string, string>>();
  for (const [i, s] of config.servers.entries()) {
    if (s.ari) {
      const eps = await checkAri(i, s.name, s.ari, daemon, timeoutMs, add);
      if (eps) endpointsOn.set(s.name, eps);
    }
    if (s.ami)
      await checkAmi(
        i,
        s.name,
        s.ami,
        config.directory.queues.filter((q) => (q.server ?? firstAmi) === s.name).map((q) => q.id),
        timeoutMs,
        add,
      );
  }

  // Addresses: rung on whichever server the call arrives; an endpoint must exist on at least one.
  const asked = [...endpointsOn.keys()];
  const seen = new Set<string>();
  for (const u of config.directory.users) {
    for (const a of u.addresses) {
      if (seen.has(`${u.id} ${a.endpoint}`)) continue;
      seen.add(`${u.id} ${a.endpoint}`);
      const subject = `address ${a.endpoint} (${u.id})`;
      const ep = endpointOf(a.endpoint);
      if (!ep) {
        add({ status: 'info', subject, text: 'not an endpoint (Local channel or dial string): the dialplan decides, not checked' });
        continue;
      }
      if (asked.length === 0) {
        if (ariServers.length === 0) add({ status: 'info', subject, text: 'no server has ARI: not checked' });
        continue; // ARI unreachable: its own FAIL line says so
      }
      const states = asked
        .map((srv) => [srv, endpointsOn.get(srv)!.get(`${ep.tech}/${ep.resource}`)] as const)
        .filter(([, st]) => st !== undefined);
      if (states.length === 0) {
        add({
          status: 'FAIL',
          subject,
          text: `no endpoint ${ep.tech}/${ep.resource} on ${asked.join(', ')} (GET /endpoints): ringing ${u.id} there always fails`,
          fix: `create the endpoint in pjsip.conf, or correct ${u.id}'s address in directory.users`,
        });
      } else if (states.every(([, st]) => st === 'offline')) {
        add({
          status: 'warn',
          subject,
          text: `${states.map(([srv]) => srv).join(', ')}: offline (no contact registered): skipped when ${u.id} is rung`,
          fix: 'register the phone (or ignore if it is off on purpose)',
        });
      } else {
        add({ status: 'ok', subject, text: states.map(([srv, st]) => `${srv}: ${st}`).join(', ') });
      }
    }
  }

  // Extensions: their interface is what QueueAdd puts in a queue; on their own server.
  for (const e of config.directory.extensions) {
    const subject = `extension ${e.id} (${e.interface})`;
    const ep = endpointOf(e.interface);
    const server = e.server ?? (asked.length === 1 ? asked[0] : undefined);
    if (!ep) {
      add({ status: 'info', subject, text: 'interface is not an endpoint (Local channel): not checked' });
      continue;
    }
    const on = server !== undefined ? [server] : asked;
    const known = on.filter((srv) => endpointsOn.has(srv));
    if (known.length === 0) continue; // no ARI there, or ARI failed (said above)
    const found = known.filter((srv) => endpointsOn.get(srv)!.has(`${ep.tech}/${ep.resource}`));
    if (found.length === 0)
      add({
        status: 'FAIL',
        subject,
        text: `no endpoint ${ep.tech}/${ep.resource} on ${known.join(', ')}: a queue login would add a member that never rings`,
        fix: `correct directory.extensions '${e.id}' interface, or create the endpoint`,
      });
    else add({ status: 'ok', subject, text: `exists on ${found.join(', ')}` });
  }

  await checkRedis(config, timeoutMs, add);
  return checks;
}

async function checkDaemon(config: Config, timeoutMs: number, add: (c: Check) => void): Promise<DaemonState | undefined> {
  if (!config.http.enabled || config.http.port === 0) {
    add({
      status: 'info',
      subject: 'agentgate',
      text: 'http is disabled (or on port 0) in the config: whether agentgate runs is not checked',
    });
    return undefined;
  }
  const host = config.http.host === '0.0.0.0' || config.http.host === '::' ? '127.0.0.1' : config.http.host;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${config.http.port}`;
  try {
    const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(timeoutMs) });
    const body = (await res.json().catch(() => ({}))) as { failing?: Array<{ component: string; reason: string }> };
    const failing = Array.isArray(body.failing) ? body.failing : [];
    if (res.status === 200) add({ status: 'ok', subject: 'agentgate', text: `running at ${url} and ready` });
    else
      add({
        status: 'FAIL',
        subject: 'agentgate',
        text: `running at ${url} but not ready: ${failing.map((f) => `${f.component}: ${f.reason}`).join('; ') || `HTTP ${res.status}`}`,
        fix: 'see the lines below and docs/operations.md (readiness)',
      });
    return { url, ready: res.status === 200, failing };
  } catch {
    add({
      status: 'info',
      subject: 'agentgate',
      text: `no agentgate answers at ${url} (not running): checked as if it were about to start`,
    });
    return { url };
  }
}

async function checkAri(
  index: number,
  name: string,
  ari: NonNullable<Config['servers'][number]['ari']>,
  daemon: DaemonState | undefined,
  timeoutMs: number,
  add: (c: Check) => void,
): Promise<Map<string, string> | undefined> {
  const at = `servers[${index}].ari`;
  const subject = `ari ${name}`;
  const rest = new AriRest({ url: ari.url, username: ari.username, password: ari.password, timeoutMs });
  try {
    let version: string;
    try {
      version = (await rest.asteriskInfo()).system.version;
    } catch (err) {
      if (err instanceof AriHttpError && (err.httpStatus === 401 || err.httpStatus === 403)) {
        add({
          status: 'FAIL',
          subject,
          text: `${ari.url} refused user '${ari.username}' with this password (${err.httpStatus})`,
          fix: `${at}.username / ${at}.password must match a user in ari.conf`,
        });
      } else if (err instanceof AriHttpError && err.httpStatus === 404) {
        add({
          status: 'FAIL',
          subject,
          text: `${ari.url} is not an Asterisk ARI (404 for /ari/asterisk/info)`,
          fix: `${at}.url is http.conf's address without /ari; ari.conf needs enabled = yes`,
        });
      } else {
        add({
          status: 'FAIL',
          subject,
          text: `cannot reach ARI at ${ari.url}: ${message(err)}`,
          fix: `${at}.url; on Asterisk: http.conf enabled = yes, bindaddr/bindport; a firewall between`,
        });
      }
      return undefined;
    }
    add({ status: 'ok', subject, text: `${ari.url}: user '${ari.username}' accepted; Asterisk ${version}` });
    const transfer = hasTransferHandling(version);
    if (transfer === true)
      add({
        status: 'ok',
        subject: `asterisk ${name}`,
        text: `${version}: PJSIP_TRANSFER_HANDLING() available (20.13, 21.8, 22.3 and later)`,
      });
    else if (transfer === false)
      add({
        status: 'warn',
        subject: `asterisk ${name}`,
        text: `${version}: no PJSIP_TRANSFER_HANDLING() (from 20.13, 21.8, 22.3): a phone's own Transfer button is carried out by Asterisk without asking agentgate`,
        fix: 'upgrade Asterisk to get transfers under the policy',
      });
    else
      add({
        status: 'warn',
        subject: `asterisk ${name}`,
        text: `version '${version}' does not say whether PJSIP_TRANSFER_HANDLING() exists (from 20.13, 21.8, 22.3)`,
      });

    await checkApp(name, ari.app, rest, daemon, add);

    try {
      const eps = await rest.endpoints();
      return new Map(eps.map((e) => [`${e.technology}/${e.resource}`, e.state]));
    } catch (err) {
      add({
        status: 'FAIL',
        subject: `endpoints ${name}`,
        text: `GET /endpoints failed: ${message(err)}`,
        fix: 'the ARI user needs read access (it has it unless ari.conf restricts it)',
      });
      return undefined;
    }
  } finally {
    rest.close();
  }
}

async function checkApp(name: string, app: string, rest: AriRest, daemon: DaemonState | undefined, add: (c: Check) => void): Promise<void> {
  const subject = `app ${app} on ${name}`;
  let listed: boolean;
  try {
    await rest.application(app);
    listed = true;
  } catch (err) {
    if (!(err instanceof AriHttpError && err.httpStatus === 404)) {
      add({ status: 'FAIL', subject, text: `GET /applications/${app} failed: ${message(err)}` });
      return;
    }
    listed = false;
  }
  const running = daemon?.ready !== undefined;
  const problem = daemon?.failing?.find((f) => f.component === `ari:${name}`)?.reason;
  const stasisFails = `Stasis(${app},…) calls fail at once to the dialplan's fallback`;
  if (running && problem !== undefined) {
    add({
      status: 'FAIL',
      subject,
      text: `${listed ? 'registered in Asterisk, but not by' : 'not registered, and'} the agentgate at ${daemon!.url}: ${problem}`,
      fix: `one agentgate per app name: give each instance its own servers[].ari.app, or stop the other client`,
    });
  } else if (running && !listed) {
    add({
      status: 'FAIL',
      subject,
      text: `not registered although agentgate runs at ${daemon!.url}: ${stasisFails}`,
      fix: "look at that agentgate's log (ARI lines)",
    });
  } else if (running) {
    add({ status: 'ok', subject, text: `registered, held by the agentgate at ${daemon!.url}` });
  } else if (daemon === undefined) {
    add({
      status: listed ? 'ok' : 'warn',
      subject,
      text: listed ? 'registered (ARI does not say by whom)' : `not registered: no websocket holds it, ${stasisFails}`,
      fix: listed ? undefined : 'start agentgate (agentgate run)',
    });
  } else if (listed) {
    add({
      status: 'warn',
      subject,
      text: `registered although no agentgate answers at ${daemon.url}: another ARI client holds it (ARI does not say which), or channels are still in it`,
      fix: `when agentgate starts it takes the app over and that client receives ApplicationReplaced; give it another app name`,
    });
  } else {
    add({ status: 'warn', subject, text: `not registered: no agentgate runs, so ${stasisFails}`, fix: 'start agentgate (agentgate run)' });
  }
}

async function checkAmi(
  index: number,
  name: string,
  ami: NonNullable<Config['servers'][number]['ami']>,
  queues: string[],
  timeoutMs: number,
  add: (c: Check) => void,
): Promise<void> {
  const at = `servers[${index}].ami`;
  const subject = `ami ${name}`;
  let probe: AmiProbe;
  try {
    probe = await AmiProbe.open(ami.host, ami.port, timeoutMs);
  } catch (err) {
    add({
      status: 'FAIL',
      subject,
      text: `cannot reach AMI at ${ami.host}:${ami.port}: ${message(err)}`,
      fix: `${at}.host / ${at}.port; on Asterisk: manager.conf enabled = yes, bindaddr, port; a firewall between`,
    });
    return;
  }
  try {
    if (!/^Asterisk Call Manager\//.test(probe.banner)) {
      add({
        status: 'FAIL',
        subject,
        text: `${ami.host}:${ami.port} is not an Asterisk manager (first line: ${JSON.stringify(probe.banner.slice(0, 60))})`,
        fix: `${at}.port (manager.conf port, usually 5038)`,
      });
      return;
    }
    // Asterisk answers a bad secret about 1 s late (recordings/ami/login-bad-secret.jsonl).
    const login = await probe.send(
      { Action: 'Login', Username: ami.username, Secret: ami.secret, Events: 'on' },
      Math.max(timeoutMs, 2500),
    );
    if (login === undefined) {
      add({
        status: 'FAIL',
        subject,
        text: `no answer to Login from ${ami.host}:${ami.port} within ${Math.max(timeoutMs, 2500)} ms`,
        fix: 'Asterisk frozen or overloaded: check it',
      });
      return;
    }
    if (login.response.response?.toLowerCase() !== 'success') {
      add({
        status: 'FAIL',
        subject,
        text: `login as '${ami.username}' refused: ${login.response.message ?? 'no message'}`,
        fix: `${at}.username / ${at}.secret must match a [user] and its secret in manager.conf, whose permit= includes this host`,
      });
      return;
    }
    add({ status: 'ok', subject, text: `${ami.host}:${ami.port}: logged in as '${ami.username}' (${probe.banner})` });

    // Write class agent: a QueuePenalty for an interface in no queue changes nothing.
    const penalty = await probe.send(
      { Action: 'QueuePenalty', Interface: 'Local/agentgate-doctor-probe@agentgate-doctor', Penalty: '0' },
      timeoutMs,
    );
    if (penalty === undefined)
      add({
        status: 'FAIL',
        subject: `ami ${name} write agent`,
        text: 'no answer to a QueuePenalty probe',
        fix: 'is app_queue loaded? (module show like app_queue)',
      });
    else if (/permission denied/i.test(penalty.response.message ?? ''))
      add({
        status: 'FAIL',
        subject: `ami ${name} write agent`,
        text: `'${ami.username}' may not send queue actions (QueueAdd, QueueRemove, QueuePause, QueuePenalty: Permission denied)`,
        fix: `manager.conf [${ami.username}] write = agent,user`,
      });
    else add({ status: 'ok', subject: `ami ${name} write agent`, text: 'queue member actions allowed' });

    // Queues: QueueStatus (no class needed) lists each configured queue's QueueParams.
    if (queues.length > 0) {
      const status = await probe.send({ Action: 'QueueStatus' }, timeoutMs, true);
      if (status === undefined || status.response.response?.toLowerCase() !== 'success') {
        add({
          status: 'FAIL',
          subject: `ami ${name} QueueStatus`,
          text: `QueueStatus failed: ${status?.response.message ?? 'no answer'}`,
          fix: 'is app_queue loaded?',
        });
      } else {
        const present = new Set(status.events.filter((e) => e.event?.toLowerCase() === 'queueparams').map((e) => e.queue));
        for (const q of queues) {
          if (present.has(q)) add({ status: 'ok', subject: `queue ${q}`, text: `exists on ${name}` });
          else
            add({
              status: 'FAIL',
              subject: `queue ${q}`,
              text: `no queue '${q}' on ${name} (QueueStatus lists: ${[...present].join(', ') || 'none'}): operations on it fail with "No such queue"`,
              fix: `add [${q}] to queues.conf (then: queue reload all), or correct directory.queues`,
            });
        }
      }
    }

    // Read class user: feature codes arrive as UserEvents; send one and see it come back.
    const nonce = `${process.pid}-${Date.now()}`;
    const echo = probe.waitFor((m) => m.event?.toLowerCase() === 'userevent' && m.probe === nonce, timeoutMs);
    const sent = await probe.send({ Action: 'UserEvent', UserEvent: 'AgentGateDoctor', Probe: nonce }, timeoutMs);
    const ueSubject = `ami ${name} read user`;
    if (sent === undefined || /permission denied/i.test(sent.response.message ?? '')) {
      await echo;
      add({
        status: 'warn',
        subject: ueSubject,
        text: `could not send a test UserEvent (${sent ? 'Permission denied: write class user' : 'no answer'}), so whether feature-code UserEvents reach agentgate is not checked`,
        fix: `manager.conf [${ami.username}] read = agent,user (agentgate itself needs only to read them)`,
      });
    } else if ((await echo) === undefined) {
      add({
        status: 'FAIL',
        subject: ueSubject,
        text: `a UserEvent sent by '${ami.username}' did not come back within ${timeoutMs} ms: feature codes (*41-*44) would never reach agentgate`,
        fix: `manager.conf [${ami.username}] read = agent,user`,
      });
    } else {
      add({ status: 'ok', subject: ueSubject, text: 'UserEvents received (feature codes reach agentgate)' });
    }
    add({
      status: 'info',
      subject: `ami ${name} read agent`,
      text: 'queue member events (read class agent) are not checked: only a real queue change shows them; manager.conf read must include agent',
    });
    await probe.send({ Action: 'Logoff' }, 1000).catch(() => undefined);
  } catch (err) {
    add({ status: 'FAIL', subject, text: `AMI session failed: ${message(err)}` });
  } finally {
    probe.close();
  }
}

async function checkRedis(config: Config, timeoutMs: number, add: (c: Check) => void): Promise<void> {
  const r = config.store.redis;
  if (!r) {
    add({ status: 'info', subject: 'store', text: 'in memory (no store.redis): one instance only, state lost at restart' });
    return;
  }
  const url = safeUrl(r.url);
  const redis = new Redis(r.url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  // ioredis rejects connect() with "Connection is closed."; the socket's own error says why.
  let socketError: string | undefined;
  redis.on('error', (err: Error) => {
    socketError ??= err.message;
  });
  try {
    await redis.connect();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no PING answer within ${timeoutMs} ms`)), timeoutMs);
    });
    const pong = await Promise.race([redis.ping(), late]).finally(() => clearTimeout(timer));
    add({ status: 'ok', subject: 'redis', text: `${url} answers PING (${pong})` });
  } catch (err) {
    add({
      status: 'FAIL',
      subject: 'redis',
      text: `${url}: ${socketError ?? message(err)}`,
      fix: 'store.redis.url (or url_file); is redis-server running and reachable, its password right?',
    });
  } finally {
    redis.disconnect();
  }
}

/** One line per check: `FAIL  queue sales: no queue 'sales' on pbx1 … → fix: …`. */
export function formatCheck(c: Check): string {
  return `${c.status.padEnd(4)}  ${c.subject}: ${c.text}${c.fix && (c.status === 'FAIL' || c.status === 'warn') ? `\n      fix: ${c.fix}` : ''}`;
}

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { ...CONFIG_OPTION, timeout: { type: 'string' } });
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  let timeoutMs = 3000;
  if (values.timeout !== undefined) {
    if (!/^\d+$/.test(values.timeout) || Number(values.timeout) < 100)
      throw new UsageError(`--timeout: '${values.timeout}' is not a number of milliseconds (>= 100)`);
    timeoutMs = Number(values.timeout);
  }
  const file = configPath(values);
  const config = loadConfigOrReport(file);
  if (config === undefined) return 1;
  const checks = await runDoctor(config, { timeoutMs });
  for (const c of checks) process.stdout.write(`${formatCheck(c)}\n`);
  const failed = checks.filter((c) => c.status === 'FAIL').length;
  const warned = checks.filter((c) => c.status === 'warn').length;
  process.stdout.write(
    failed === 0
      ? `\n${file}: everything agentgate needs works${warned ? ` (${warned} warning(s))` : ''}\n`
      : `\n${file}: ${failed} problem(s) to fix${warned ? `, ${warned} warning(s)` : ''}\n`,
  );
  return failed === 0 ? 0 : 1;
}
