import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { parseServiceEnv, readCpuMs } from './processes.js';

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

describe('readCpuMs', () => {
  const read = (thread?: number): number => {
    const ms = readCpuMs(process.pid, thread);
    if (ms === null) throw new Error('/proc is not readable here');
    return ms;
  };

  it("reads a thread's CPU time apart from its process's: work on another thread counts only for the process", async () => {
    const processBefore = read();
    const mainBefore = read(process.pid);
    // another thread burns 400 ms of CPU (process-wide CPU time, so a busy machine only makes it take longer)
    const worker = new Worker(
      'const start = process.cpuUsage(); const done = () => { const u = process.cpuUsage(start); return u.user + u.system >= 400000; }; const until = Date.now() + 20000; while (!done() && Date.now() < until);',
      { eval: true },
    );
    await once(worker, 'exit');
    const processSpent = read() - processBefore;
    const mainSpent = read(process.pid) - mainBefore;
    // clock ticks are 10 ms
    expect(processSpent).toBeGreaterThanOrEqual(380);
    expect(mainSpent).toBeLessThan(processSpent - 250);
  });

  it("grows a main thread's CPU time with work on it", () => {
    const before = read(process.pid);
    const start = process.cpuUsage();
    const until = Date.now() + 20_000;
    while (process.cpuUsage(start).user < 200_000 && Date.now() < until);
    expect(read(process.pid) - before).toBeGreaterThanOrEqual(150);
  });

  it('is null for a process or thread that does not exist', () => {
    expect(readCpuMs(2 ** 30)).toBeNull();
    expect(readCpuMs(process.pid, 2 ** 30)).toBeNull();
  });
});
