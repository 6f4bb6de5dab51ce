import { describe, expect, it } from 'vitest';
import { parseServiceEnv } from './processes.js';

describe('parseServiceEnv', () => {
  it('reads NAME=VALUE pairs; a value may hold = and be empty', () => {
    expect(parseServiceEnv(['MALLOC_MMAP_THRESHOLD_=65536', 'UV_THREADPOOL_SIZE=1', 'A=b=c', 'EMPTY='])).toEqual({
      MALLOC_MMAP_THRESHOLD_: '65536',
      UV_THREADPOOL_SIZE: '1',
      A: 'b=c',
      EMPTY: '',
    });
    expect(parseServiceEnv([])).toEqual({});
  });

  it('refuses a pair that is not NAME=VALUE', () => {
    for (const bad of ['NOVALUE', '=x', '1A=x', 'A B=x']) {
      expect(() => parseServiceEnv([bad]), bad).toThrow(/NAME=VALUE/);
    }
  });

  it('refuses secret-looking names, so that no secret is written into a report', () => {
    for (const name of ['WX_SECRET', 'WXLOGIN_SECRET', 'WXLOGIN_ADMIN_TOKEN', 'DATABASE_URL', 'REDIS_URL', 'api_key']) {
      expect(() => parseServiceEnv([`${name}=hunter2`]), name).toThrow(/does not take/);
    }
  });
});
