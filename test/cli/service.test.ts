/**
 * docs/agentgate.service stays runnable: it starts the compiled bin that package.json names (and the
 * package ships), as the agentgate user, restarted on failure, with the environment file for secrets.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../support/cli.js';

const unit = readFileSync(join(ROOT, 'docs/agentgate.service'), 'utf8');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string>; files: string[] };
const directives = new Map(
  unit
    .split('\n')
    .filter((l) => /^[A-Za-z]+=/.test(l))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as const),
);

describe('systemd unit', () => {
  it('runs the package bin as the agentgate user, restarts on failure, reads the environment file, reloads with SIGHUP', () => {
    const bin = `/opt/agentgate/node_modules/agentgate/${pkg.bin.agentgate}`;
    expect(directives.get('ExecStart')).toBe(`/usr/bin/node ${bin} run`);
    expect(directives.get('ExecStartPre')).toBe(`/usr/bin/node ${bin} check-config`);
    expect(pkg.files).toContain('dist');
    expect(pkg.files).toContain('docs');
    expect(directives.get('User')).toBe('agentgate');
    expect(directives.get('Restart')).toBe('on-failure');
    expect(directives.get('EnvironmentFile')).toBe('-/etc/agentgate/agentgate.env');
    expect(directives.get('ExecReload')).toBe('/bin/kill -HUP $MAINPID');
    expect(unit).toContain('Environment=AGENTGATE_CONFIG=/etc/agentgate/agentgate.yaml');
  });
});
