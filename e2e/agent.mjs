// An agent, reduced to what matters to hush: it drives `hush mcp` through the
// official MCP TypeScript SDK, asks for a secret, and uses it the way coding
// agents do, with one shell command per tool call. Run it through a link
// named `claude` so the daemon sees an agent.
//
// It prints a readable transcript on stdout (shell commands as `$ cmd`, each
// run by a fresh `bash -c`) and, with --transcript, writes
// every event as one JSON object per line: each JSON-RPC message in both
// directions, each transport error (a stdout line of `hush mcp` that is not
// JSON-RPC), and each shell command with its output.
//
// usage: claude agent.mjs --hush PATH --account NAME --check-url URL
//                         [--list-prefix P] [--transcript FILE]

import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const { values: args } = parseArgs({
  options: {
    hush: { type: 'string' },
    account: { type: 'string' },
    'check-url': { type: 'string' },
    'list-prefix': { type: 'string', default: '' },
    transcript: { type: 'string' },
  },
});
for (const required of ['hush', 'account', 'check-url']) {
  if (!args[required]) {
    console.error(`agent: --${required} is required`);
    process.exit(2);
  }
}

const events = [];
const out = (line) => process.stdout.write(line + '\n');

function record(event) {
  events.push(event);
  switch (event.kind) {
    case 'send':
      out(`agent → hush  ${JSON.stringify(event.message)}`);
      break;
    case 'recv':
      out(`hush  → agent ${JSON.stringify(event.message)}`);
      break;
    case 'transport-error':
      out(`transport error: ${event.error}`);
      break;
    case 'shell':
      out(`$ ${event.command}`);
      for (const line of (event.stdout + event.stderr).split('\n')) {
        if (line !== '') out(`  ${line}`);
      }
      out(`  (exit ${event.exit})`);
      break;
    case 'note':
      out(`# ${event.text}`);
      break;
  }
}

// RecordingTransport sees every message the SDK sends and receives, so the
// transcript is the whole conversation, not a summary of it.
class RecordingTransport {
  constructor(inner) {
    this.inner = inner;
  }
  async start() {
    this.inner.onmessage = (message, extra) => {
      record({ kind: 'recv', message });
      this.onmessage?.(message, extra);
    };
    this.inner.onerror = (error) => {
      record({ kind: 'transport-error', error: String(error) });
      this.onerror?.(error);
    };
    this.inner.onclose = () => this.onclose?.();
    return this.inner.start();
  }
  async send(message, options) {
    record({ kind: 'send', message });
    return this.inner.send(message, options);
  }
  async close() {
    return this.inner.close();
  }
  setProtocolVersion(version) {
    this.inner.setProtocolVersion?.(version);
  }
}

function shellQuote(s) {
  if (/^[A-Za-z0-9_.\/:@%+=-]+$/.test(s)) return s;
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

function shell(command) {
  // A fresh bash per call, as Claude Code, Codex and others run tools.
  const r = spawnSync('bash', ['-c', command], { env: process.env, encoding: 'utf8' });
  const event = {
    kind: 'shell',
    command,
    exit: r.status ?? -1,
    stdout: r.stdout ?? '',
    stderr: r.stderr ?? String(r.error ?? ''),
  };
  record(event);
  return event;
}

function text(result) {
  return (result.content ?? []).filter((c) => c.type === 'text').map((c) => c.text).join('\n');
}

async function main() {
  const transport = new RecordingTransport(
    new StdioClientTransport({
      command: args.hush,
      args: ['mcp'],
      // Agents hand MCP servers their own environment; the caller of this
      // script decides what that is.
      env: Object.fromEntries(Object.entries(process.env).filter(([, v]) => typeof v === 'string')),
      stderr: 'inherit',
    }),
  );
  const client = new Client({ name: 'hush-e2e-agent', version: '1.0.0' });
  await client.connect(transport);
  try {
    await client.listTools();
    await client.callTool({ name: 'hush_list', arguments: { prefix: args['list-prefix'] } });
    const got = await client.callTool({ name: 'hush_get', arguments: { account: args.account } });
    if (got.isError) {
      throw new Error(`hush_get failed: ${text(got)}`);
    }
    // `source '…'`, or `. '…'` for a shell without source.
    const sourceLine = text(got).split('\n').find((l) => /^(source|\.) '/.test(l));
    if (!sourceLine) {
      throw new Error('hush_get returned no source line');
    }

    const variable = args.account.split('/').pop();
    const check = join(dirname(fileURLToPath(import.meta.url)), 'check.mjs');
    record({ kind: 'note', text: 'the agent follows the guidance: source and use in one shell call' });
    shell(`${sourceLine} && ${shellQuote(process.execPath)} ${shellQuote(check)} ${variable} ${shellQuote(args['check-url'])}`);
    record({ kind: 'note', text: "a later tool call runs the same line again in a new shell: the script deleted itself when first sourced, so this fails loudly (an agent chains source '…' && cmd in one call)" });
    shell(sourceLine);
  } finally {
    await client.close();
  }
}

let failed = false;
try {
  await main();
} catch (err) {
  failed = true;
  console.error(`agent: ${err.message ?? err}`);
}
if (args.transcript) {
  writeFileSync(args.transcript, events.map((e) => JSON.stringify(e)).join('\n') + '\n', { mode: 0o600 });
}
process.exit(failed ? 1 : 0);
