/**
 * The simulator serves its own copy of Asterisk 22.7.0's ARI api-docs (src/sim/ari/api-docs, shipped
 * in the package); the recorded originals are in test/fixtures/asterisk-22.7/ari-api-docs. They must
 * stay byte for byte the same, and the simulator must serve them as Asterisk does.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { apiDocsDir } from '../../src/sim/ari/server.js';

const RECORDED = new URL('../fixtures/asterisk-22.7/ari-api-docs/', import.meta.url).pathname;

describe('ARI api-docs', () => {
  it('the simulator reads its own copy, inside the repository', () => {
    expect(apiDocsDir()).toMatch(/src\/sim\/ari\/api-docs$/);
  });

  it('the simulator copy is the recorded Asterisk 22.7.0 one, file for file', () => {
    const recorded = readdirSync(RECORDED).sort();
    expect(readdirSync(apiDocsDir()).sort()).toEqual(recorded);
    for (const f of recorded) expect(readFileSync(`${apiDocsDir()}/${f}`, 'utf8'), f).toBe(readFileSync(`${RECORDED}${f}`, 'utf8'));
    expect(JSON.parse(readFileSync(`${RECORDED}resources.json`, 'utf8'))).toMatchObject({ apiVersion: '10.0.0' });
  });
});
