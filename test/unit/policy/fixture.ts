/** Loads test/fixtures/policy/*.yaml (the `directory` key) into a compiled policy for the tests. */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { compilePolicy, parsePolicyDoc, type CompiledPolicy, type PolicyDoc } from '../../../src/domain/policy/index.js';

export function fixturePath(name: string): string {
  return new URL(`../../fixtures/policy/${name}`, import.meta.url).pathname;
}

export function loadDoc(name = 'callcenter.yaml'): PolicyDoc {
  const raw = parse(readFileSync(fixturePath(name), 'utf8')) as { directory: unknown };
  const res = parsePolicyDoc(raw.directory);
  if (!res.ok) throw new Error(`fixture ${name} invalid: ${JSON.stringify(res.errors)}`);
  return res.value;
}

export function loadPolicy(name = 'callcenter.yaml'): CompiledPolicy {
  return compilePolicy(loadDoc(name), 1);
}

/** A small valid policy document, one of each thing, as raw data a test may break field by field. */
// oxlint-disable-next-line no-explicit-any
export const minimalDoc = (): Record<string, any> => ({
  users: [
    {
      id: 'alice',
      name: 'Alice',
      role: 'agent',
      scope: 'call_center_agent',
      groups: ['team'],
      extensions: ['1001'],
      addresses: ['PJSIP/1001'],
    },
  ],
  groups: [{ id: 'team', members: ['alice'], supervisors: [] }],
  extensions: [{ id: '1001', interface: 'PJSIP/1001' }],
  queues: [{ id: 'support' }],
  grants: [{ id: 'g1', subject: 'user:alice', actions: ['login'], targets: ['extension:1001', 'queue:support'] }],
});
