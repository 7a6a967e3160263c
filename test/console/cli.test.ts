/**
 * `dmbridge sandbox …` as a user types it in another terminal, against a running sandbox: what it prints and its exit
 * code. Every channel with a sandbox is played; the clock is moved the way the console moves it.
 */
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandboxCommand } from '../sandbox-command.js';
import { PortInUseError, playableChannels, runSandbox, type RunningSandbox } from '../../src/entry/sandbox.js';
import { tempDir } from '../helpers.js';

const dir = tempDir();
let sandbox: RunningSandbox;
let channels: Awaited<ReturnType<typeof playableChannels>>;

beforeAll(async () => {
  channels = await playableChannels();
  sandbox = await runSandbox({ portBase: 0, store: `sqlite:${dir.path}/sandbox.db`, logLevel: 'silent', out: () => undefined, demo: false });
});
afterAll(async () => {
  await sandbox?.close();
  dir.cleanup();
});

const run = (...args: string[]) => sandboxCommand(args);
const at = () => ['--console', sandbox.consoleUrl];

describe('dmbridge sandbox from another terminal', () => {
  it('sends as every channel’s customer, text and image, and prints what the agent received', async () => {
    for (const { channel } of channels) {
      const text = await run('send', `--${channel.name}`, ...at(), 'Is the blue mug in stock?');
      expect(text, channel.name).toMatchObject({ code: 0, err: '' });
      expect(text.out).toMatch(/^customer → bridge: .*: 200/);
      expect(text.out).toContain('"text": "Is the blue mug in stock?"');
      const image = await run('send', `--${channel.name}`, '--image', `${sandbox.consoleUrl}/static/sample.png`, ...at());
      expect(image, channel.name).toMatchObject({ code: 0, err: '' });
      expect(image.out).toContain('"mediaType": "Image"');
    }
  });

  it('refuses what a channel cannot play with exit 2 and a sentence (sandbox send --tiktok --from), and bad usage', async () => {
    // The TikTok fake has one customer; its DMs carry a text or an image, never both.
    expect(await run('send', '--tiktok', '--from', 'someone-else', ...at(), 'hi')).toMatchObject({ code: 2, err: 'dmbridge: the sandbox TikTok customer is always the one customer of the fake: drop --from' });
    const both = await run('send', '--tiktok', '--image', `${sandbox.consoleUrl}/static/sample.png`, ...at(), 'look');
    expect(both).toMatchObject({ code: 2, err: expect.stringContaining('a TikTok DM is a text or an image, never both') });
    const notAnImage = await run('send', '--tiktok', '--image', `${sandbox.consoleUrl}/static/nothing.png`, ...at());
    expect(notAnImage).toMatchObject({ code: 2, err: expect.stringContaining('did not answer with an image (HTTP 404') });
    expect(await run('send', ...at())).toMatchObject({ code: 2, err: 'dmbridge: sandbox send needs a TEXT or --image URL' });
    expect(await run('reply', ...at())).toMatchObject({ code: 2 });
    expect(await run('send', '--no-such-flag', 'hi')).toMatchObject({ code: 2, err: expect.stringContaining("Unknown option '--no-such-flag'") });
    expect(await run('juggle')).toMatchObject({ code: 2, err: expect.stringContaining('unknown sandbox command "juggle"') });
    expect(await run('send', '--instagram', '--tiktok', ...at(), 'hi')).toMatchObject({ code: 2, err: 'dmbridge: choose one channel flag' });
    expect(await run('mention', '--instagram', ...at())).toMatchObject({ code: 2, err: 'dmbridge: Instagram has no customer action "mention"' });
  });

  it('replies as the agent and prints the Delivered receipt; once the clock passed the window, exits 1 with the agent’s sentence', async () => {
    const { channel } = channels[0]!;
    await run('send', ...at(), 'Where is my parcel?');
    const delivered = await run('reply', ...at(), 'It ships today.');
    expect(delivered).toMatchObject({ code: 0, err: '' });
    expect(delivered.out).toContain('"status": "Delivered"');

    const moved = await run('clock', '--past-window', ...at());
    expect(moved).toMatchObject({ code: 0, out: expect.stringMatching(/^sandbox clock: \S+ \(2\d h \d+ min ahead of real time\)$/) });
    const failed = await run('reply', `--${channel.name}`, ...at(), 'Still there?');
    expect(failed.code).toBe(1);
    expect(failed.out).toContain('"status": "Failed"');
    expect(failed.err).toMatch(/^dmbridge: the reply was not delivered \(MessageExpired\): .*only allows replies within 24 hours/);
  });

  it('plays every customer action of every channel', async () => {
    for (const { channel, sandbox: facet } of channels) {
      await run('reply', `--${channel.name}`, ...at(), 'Hello again');
      for (const name of Object.keys(facet.actions ?? {})) {
        const played = await run(name, `--${channel.name}`, ...at());
        expect(played, `${channel.name} ${name}`).toMatchObject({ code: 0, err: '' });
        expect(played.out).toContain('bridge → Genesys: {');
      }
    }
  });

  it('moves the clock by a duration and prints it', async () => {
    const before = sandbox.clock.offsetMs();
    expect(await run('clock', '--advance', '90m', ...at())).toMatchObject({ code: 0 });
    expect(sandbox.clock.offsetMs() - before).toBe(90 * 60_000);
    expect(await run('clock', '--advance', 'soon', ...at())).toMatchObject({ code: 2, err: expect.stringContaining('--advance takes a duration') });
    expect(await run('clock', '--advance', '-5m', ...at())).toMatchObject({ code: 2 });
  });

  it('says in one line when no sandbox answers, and exits 1', async () => {
    const closed = await freePort();
    const result = await run('send', '--console', `http://127.0.0.1:${closed}`, 'hi');
    expect(result.code).toBe(1);
    expect(result.err).toMatch(new RegExp(`^dmbridge: cannot reach the sandbox console at http://127.0.0.1:${closed}: is \`npm start\` running\\? \\(.+\\)$`));
  });
});

describe('dmbridge sandbox --help', () => {
  it('lists every option of every command, channel flags and actions from the registry', async () => {
    const start = await run('--help');
    expect(start.code).toBe(0);
    for (const option of ['--port-base N', '--store URL', '--log-level LEVEL', '--no-demo', '--help']) expect(start.out).toContain(option);
    for (const { sandbox: facet } of channels) for (const name of Object.keys(facet.actions ?? {})) expect(start.out).toContain(name);
    const expected: Record<string, string[]> = {
      send: ['--image URL', '--from ID'],
      reply: ['--image URL', '--to ID', '--bot'],
      clock: ['--advance DURATION', '--past-window'],
    };
    for (const [command, options] of Object.entries(expected)) {
      const help = await run(command, '--help');
      expect(help.code, command).toBe(0);
      for (const option of [...options, '--port-base N', '--console URL', '--help', 'Exit codes', ...channels.map((p) => `--${p.channel.name}`)]) expect(help.out, command).toContain(option);
    }
    for (const { channel, sandbox: facet } of channels) {
      for (const name of Object.keys(facet.actions ?? {})) expect((await run(name, '--help')).out).toContain(`--${channel.name}`);
    }
  });
});

describe('dmbridge sandbox (start)', () => {
  it('stops before starting anything when a port is taken, naming it in one line, exit 1', async () => {
    const { base, holder } = await holdPortAt(2);
    try {
      const result = await run('--port-base', String(base), '--store', `sqlite:${dir.path}/other.db`);
      expect(result.code).toBe(1);
      expect(result.err).toBe(`dmbridge: port ${base + 2} (the fake Genesys) is already in use on 127.0.0.1: stop what listens there, or choose other ports with --port-base N`);
      expect(await isFree(base)).toBe(true); // the bridge was never started
      await expect(runSandbox({ portBase: base, out: () => undefined })).rejects.toBeInstanceOf(PortInUseError);
    } finally {
      await new Promise((r) => holder.close(r));
    }
  });

  it('refuses a port base that is not one', async () => {
    expect(await run('--port-base', 'eighty')).toMatchObject({ code: 2, err: expect.stringContaining('--port-base takes a number') });
    expect(await run('--port-base', '65534')).toMatchObject({ code: 2, err: expect.stringContaining('the port base must be') });
  });
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

async function isFree(port: number): Promise<boolean> {
  const server = createServer();
  const free = await new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => resolve(true));
  });
  if (free) await new Promise((r) => server.close(r));
  return free;
}

/** A base whose every sandbox port is free but `offset`, which this test holds. */
async function holdPortAt(offset: number): Promise<{ base: number; holder: Server }> {
  for (;;) {
    const base = 20_000 + Math.floor(Math.random() * 40_000);
    const ports = Array.from({ length: 3 + channels.length }, (_v, i) => base + i);
    if (!(await Promise.all(ports.map(isFree))).every(Boolean)) continue;
    const holder = createServer();
    await new Promise<void>((r) => holder.listen(base + offset, '127.0.0.1', r));
    return { base, holder };
  }
}
