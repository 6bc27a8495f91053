import { resolve } from 'node:path';
import { readEnv } from '../../config.js';
import { API_SCOPES, addApiClient, apiKeysFileOf, listApiClients, type ApiScope } from '../../http/auth.js';
import { UsageError, parseFlags, writeHumanLine, writeLine, type Command } from '../command.js';
import { JSON_FLAG, jsonUsage, writeJson } from '../json-output.js';

/**
 * `noemie api-keys add <client> --scope invoices[,admin]` and `noemie api-keys list`: the HTTP API's
 * clients (src/http/auth.ts). The key is printed once; the file keeps only its SHA-256.
 */
const ADD_USAGE = `noemie api-keys add <client-id> --scope <invoices|admin>[,…] [--rotate] [--home <dir>] [--json]

Creates an API key for a client of the HTTP API and prints it ONCE on stdout: keep it, it cannot be
shown again. The keys file (<home>/config/api-keys.json, or NOEMIE_API_KEYS_FILE; mode 0600) keeps
the client id, its scopes and the SHA-256 of the key only. A running service reads the file again
within a second. --rotate gives an existing client a new key (and these scopes): its old key stops working.
  --scope invoices   POST /v1/invoices, GET /v1/invoices/{receipt}
  --scope admin      the admin actions (payment cut-off, replay)
  --rotate           a new key for a client that has one
  --home <dir>       default NOEMIE_HOME
${jsonUsage('api-keys add')}
exit code: 0 created, 1 the client already has a key (without --rotate) or the file is invalid, 2 usage error`;

const LIST_USAGE = `noemie api-keys list [--json] [--home <dir>]

Lists the clients of the HTTP API: id, scopes, when their key was made (never the key: it is not kept).
  --home <dir>  default NOEMIE_HOME
${jsonUsage('api-keys list')}
exit code: 0 listed, 1 the file is invalid, 2 usage error`;

const ADD_FLAGS = { home: { type: 'string' }, scope: { type: 'string' }, rotate: { type: 'boolean' }, ...JSON_FLAG } as const;
const LIST_FLAGS = { home: { type: 'string' }, ...JSON_FLAG } as const;

function homeOf(flag: string | undefined): { file: string } {
  const env = readEnv();
  const home = resolve(flag ?? env.NOEMIE_HOME);
  return { file: apiKeysFileOf(home, env.NOEMIE_API_KEYS_FILE) };
}

function scopesOf(text: string | undefined): ApiScope[] {
  if (text === undefined) throw new UsageError(`--scope is required (${API_SCOPES.join(', ')})`);
  const scopes = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const bad = scopes.filter((s) => !(API_SCOPES as readonly string[]).includes(s));
  if (scopes.length === 0 || bad.length > 0) throw new UsageError(`--scope: ${bad.length > 0 ? `unknown ${bad.join(', ')}` : 'empty'}; expected ${API_SCOPES.join(', ')}`);
  return scopes as ApiScope[];
}

export const addCommand: Command = {
  name: 'api-keys add',
  summary: 'create an HTTP API key for a client (printed once, only its hash is stored)',
  usage: ADD_USAGE,
  flags: ADD_FLAGS,
  async run(argv, io) {
    const { values, positionals } = parseFlags(argv, ADD_FLAGS);
    const id = positionals[0];
    if (id === undefined || positionals.length > 1) throw new UsageError('expects one client id');
    const scopes = scopesOf(values.scope);
    const { file } = homeOf(values.home);
    const { key, rotated } = await addApiClient(file, id, scopes, { rotate: values.rotate === true });
    if (values.json) {
      writeJson(io, 'api-keys add', { client: id, scopes, file, rotated, key });
      return 0;
    }
    writeHumanLine(io.err, `${rotated ? 'new key for' : 'client'} ${id} (${scopes.join(', ')}) in ${file}; the key below is shown once, only its SHA-256 is kept:`);
    writeLine(io.out, key);
    return 0;
  },
};

export const listCommand: Command = {
  name: 'api-keys list',
  summary: 'list the HTTP API clients and their scopes (keys are not kept)',
  usage: LIST_USAGE,
  flags: LIST_FLAGS,
  async run(argv, io) {
    const { values, positionals } = parseFlags(argv, LIST_FLAGS);
    if (positionals.length > 0) throw new UsageError('takes no argument');
    const { file } = homeOf(values.home);
    const clients = await listApiClients(file);
    if (values.json) {
      writeJson(io, 'api-keys list', { file, clients: clients.map(({ id, scopes, created }) => ({ id, scopes, ...(created ? { created } : {}) })) });
      return 0;
    }
    if (clients.length === 0) writeHumanLine(io.out, `no API client in ${file} (noemie api-keys add <client-id> --scope invoices)`);
    const width = Math.max(...clients.map((c) => c.id.length));
    for (const c of clients) writeHumanLine(io.out, `${c.id.padEnd(width)}  ${c.scopes.join(',').padEnd(15)}  ${c.created ?? ''}`.trimEnd());
    return 0;
  },
};
