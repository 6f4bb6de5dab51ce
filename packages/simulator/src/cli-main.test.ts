import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from './cli-main.js';
import type { Simulator } from './simulator.js';

let started: Simulator | null = null;

afterEach(async () => {
  await started?.close();
  started = null;
});

function capture(): { out: string[]; err: string[]; io: { out: (l: string) => void; err: (l: string) => void } } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (l) => out.push(l), err: (l) => err.push(l) } };
}

describe('wxlogin-simulator CLI', () => {
  it('starts on the given port and prints the URL and the dev app id', async () => {
    const { out, io } = capture();
    const { simulator, exitCode } = await runCli(['--port', '0', '--host', '127.0.0.1'], io);
    started = simulator;
    expect(exitCode).toBe(0);
    expect(simulator).not.toBeNull();
    const url = simulator?.url ?? '';
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(out.join('\n')).toContain(url);
    expect(out.join('\n')).toContain('wx0123456789abcdef');
    const res = await fetch(`${url}/__sim/calls`);
    expect(res.status).toBe(200);
  });

  it('logs requests with --log', async () => {
    const { out, io } = capture();
    started = (await runCli(['--port', '0', '--log'], io)).simulator;
    await fetch(`${started?.url}/cgi-bin/token`);
    expect(out.at(-1)).toBe('GET /cgi-bin/token -> errcode 41002');
  });

  it('prints help', async () => {
    const { out, io } = capture();
    expect(await runCli(['--help'], io)).toEqual({ simulator: null, exitCode: 0 });
    expect(out.join('\n')).toContain('Usage: wxlogin-simulator');
  });

  it('refuses bad arguments with exit code 2', async () => {
    const { err, io } = capture();
    expect(await runCli(['--port', 'abc'], io)).toEqual({ simulator: null, exitCode: 2 });
    expect(await runCli(['--port', '70000'], io)).toEqual({ simulator: null, exitCode: 2 });
    expect(await runCli(['--bogus'], io)).toEqual({ simulator: null, exitCode: 2 });
    expect(err).toHaveLength(3);
  });
});
