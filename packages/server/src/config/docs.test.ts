import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigSchema, DEFAULTS, ENV_KEYS } from './config.js';

const page = readFileSync(fileURLToPath(new URL('../../../../docs/configuration.md', import.meta.url)), 'utf8');

describe('docs/configuration.md', () => {
  it.each(ENV_KEYS.map(([env, key]) => [env, key]))('documents %s (%s)', (env, key) => {
    const row = page.split('\n').find((line) => line.startsWith(`| \`${env}\``));
    expect(row, `no row for ${env}`).toBeDefined();
    expect(row).toContain(`\`${key}\``);
  });

  it('documents every config key, and the defaults it states are the real ones', () => {
    for (const key of Object.keys(ConfigSchema.properties)) expect(page).toContain(`\`${key}\``);
    for (const [key, value] of Object.entries(DEFAULTS)) {
      if (typeof value !== 'number' && typeof value !== 'string') continue;
      const row = page.split('\n').find((line) => line.includes(`| \`${key}\` |`));
      expect(row, `no row for ${key}`).toBeDefined();
      expect(row).toContain(`\`${value}\``);
    }
  });
});
