/** Rotating WXLOGIN_SECRET: values sealed under the previous secret keep opening. */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimulator } from '@wxlogin/simulator';
import { describe, expect, it } from 'vitest';
import { startStack } from './harness.js';

describe('WXLOGIN_SECRET rotation', () => {
  it('keeps tokens and sealed session keys working under WXLOGIN_PREVIOUS_SECRETS, and re-seals on login', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wxlogin-rotate-'));
    const sim = await startSimulator();
    const databaseUrl = `sqlite:${join(dir, 'db.sqlite')}`;
    const oldSecret = randomBytes(32).toString('base64');
    const newSecret = randomBytes(32).toString('base64');
    try {
      const before = await startStack({ simulator: sim, overrides: { databaseUrl, secret: oldSecret } });
      const tokens = await before.login('rot');
      const info = sim.userInfo({ user: 'rot', profile: { nickName: 'Rot' } });
      await before.close();

      // without the old secret, the sealed signing key cannot be opened: start-up fails loudly
      await expect(startStack({ simulator: sim, overrides: { databaseUrl, secret: newSecret } })).rejects.toThrow(
        /WXLOGIN_SECRET cannot open the stored signing keys/,
      );

      const after = await startStack({
        simulator: sim,
        overrides: { databaseUrl, secret: newSecret, previousSecrets: [oldSecret] },
      });
      expect((await after.request('GET', '/v1/me', { token: tokens.accessToken })).status).toBe(200);
      const verified = await after.request<{ nickname: string }>('POST', '/v1/me/userinfo', {
        token: tokens.accessToken,
        body: info,
      });
      expect(verified.status, verified.text).toBe(200);
      const userId = tokens.user.id;
      const stale = await after.runtime.store.getSessionKeys(userId);
      expect(after.runtime.sealer.isStale(stale?.current as string)).toBe(true);
      await after.login('rot');
      const resealed = await after.runtime.store.getSessionKeys(userId);
      expect(after.runtime.sealer.isStale(resealed?.current as string)).toBe(false);
      await after.runtime.tokens.rotate();
      await after.close();
    } finally {
      await sim.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
