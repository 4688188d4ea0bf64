import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/errors/codes.js';

describe('docs/errors.md', () => {
  it('documents every error code with its HTTP status', () => {
    const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
    const missing = Object.entries(ERROR_CODES).filter(([code, e]) => !doc.includes(`| \`${code}\` | ${e.status} |`));
    expect(missing.map(([c]) => c)).toEqual([]);
  });
});
