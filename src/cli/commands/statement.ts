import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { insurerIdentity, readEnv } from '../../config.js';
import { MembershipStore } from '../../pipeline/membership-store.js';
import { isRealDate } from '../../model/dates.js';
import { BusError } from '../../bus/errors.js';
import type { Bus } from '../../bus/index.js';
import { StatementIndex, statementFromIndexAndTail, updateStatementIndex } from '../../pipeline/statement-index.js';
import { isLevelLocked } from '../../state/level-store.js';
import { paymentFactsForStatement } from '../../pipeline/statement-payments.js';
import type { LinePaymentFacts } from '../../statement/payment.js';
import type { PaymentFactsRequest } from '../../http/admin.js';
import type { PaymentFactsAnswer } from '../payment-state.js';
import { callAdmin, hereOrService } from '../service-client.js';
import { ReferenceMissingError } from '../../pipeline/reference-store.js';
import type { StatementSettlement } from '../../statement/index.js';
import { renderStatementHtml, renderStatementText, statementData } from '../../statement/index.js';
import { chooseReference } from '../home-reference.js';
import { UsageError, parseFlags, writeLine, type Command } from '../command.js';
import { openCliBus } from './payments.js';
import { JSON_FLAG, jsonUsage, writeJson } from '../json-output.js';

/**
 * `noemie statement`: the member's "historique des remboursements" (seed 001) from the settlements
 * topic — text on stdout, and a self-contained HTML page with the chart when --html is given.
 * It reads the statement index (src/pipeline/statement-index.ts), brought up to date first with
 * what is new on `settlements` (group `statements`); see `settlementsFromIndex` for a bus held by
 * a running `noemie run`.
 */
const USAGE = `noemie statement --adherent <id> --from <YYYY-MM-DD> --to <YYYY-MM-DD> [--html <out.html>]
                 [--issued <YYYY-MM-DD>] [--home <dir>] [--kafka <brokers>] [--nomenclature <csv>] [--json]

Care dates from … to, inclusive; the latest version of each line (an annulled line is left out).
Read from the statement index in <home>/state (created if missing), brought up to date first with
the settlements not consumed yet (group statements). If a running noemie run holds the embedded
bus, the index is read as it is plus the family's newer settlements, and nothing is written.
The family's members (names on the statement) are the home's membership store's
(noemie members import, members*.csv in the inbox, noemie run --sample).
Each act says who was paid (you, or the professional in tiers payant) and on which transfer date
(from the home's payment state, read only; asked of the running noemie run when it holds the home,
with NOEMIE_ADMIN_KEY), and what is still "en attente" and why, in the
member's words; the insurer named at the top is NOEMIE_INSURER_NAME / _ADDRESS / _REGISTRATION
(fictitious defaults).
  --issued <YYYY-MM-DD>  the issue date printed on the statement, default today (UTC)
  --nomenclature <csv>   act labels, default: the home's nomenclature in force (noemie reference show)
  --html <out.html>      also write the self-contained printable HTML page there
${jsonUsage('statement')}: the text statement and where the HTML is
exit code: 0 written, 1 unknown adherent, 2 usage error`;

const FLAGS = {
  adherent: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  html: { type: 'string' },
  home: { type: 'string' },
  kafka: { type: 'string' },
  nomenclature: { type: 'string' },
  issued: { type: 'string' },
  ...JSON_FLAG,
} as const;

function date(flag: string, v: string | undefined): string {
  if (v === undefined) throw new UsageError(`${flag} <YYYY-MM-DD> is required`);
  if (!isRealDate(v)) throw new UsageError(`${flag} expects a calendar date YYYY-MM-DD, got "${v}"`);
  return v;
}

export const command: Command = {
  name: 'statement',
  summary: 'member statement (historique des remboursements): text, and HTML with a chart',
  usage: USAGE,
  flags: FLAGS,
  async run(argv, io) {
    const { values } = parseFlags(argv, FLAGS, false);
    const adherentId = values.adherent;
    if (!adherentId) throw new UsageError('--adherent <id> is required');
    const request = { adherentId, from: date('--from', values.from), to: date('--to', values.to) };
    if (request.to < request.from) throw new UsageError(`--to (${request.to}) is before --from (${request.from})`);
    const home = resolve(values.home ?? readEnv().NOEMIE_HOME);
    // act labels: the file given, else the home's nomenclature in force (REFERENCE_MISSING if none)
    const nomenclature = (await chooseReference(['nomenclature'], { home, files: { nomenclature: values.nomenclature } })).data.nomenclature;
    const membership = MembershipStore.openForReading(home);
    const members = membership?.index().byAdherent(adherentId) ?? [];
    await membership?.close();
    if (members.length === 0) {
      writeLine(io.err, `unknown adherent ${adherentId} (not in the home's membership store: noemie members import)`);
      return 1;
    }
    const issuedOn = values.issued === undefined ? new Date().toISOString().slice(0, 10) : date('--issued', values.issued);
    const settlements = await settlementsFromIndex(home, values.kafka, request);
    // after the index is closed: the payment facts of these lines only, read without writing
    const payments = await paymentFactsOf(home, settlements.map((s) => s.lineKey));
    const labels = Object.fromEntries(Object.entries(nomenclature).map(([code, e]) => [code, e.label]));
    const professionalNames = await professionalNamesOf(home);
    const data = statementData(request, settlements, members, labels, { insurer: insurerIdentity(), issuedOn, payments, professionalNames });
    const text = renderStatementText(data);
    const html = values.html === undefined ? null : resolve(values.html);
    if (html !== null) await writeFile(html, renderStatementHtml(data));
    if (values.json) {
      writeJson(io, 'statement', { ...request, issuedOn, html, text, lines: settlements.length });
      return 0;
    }
    io.out.write(text);
    if (html !== null) writeLine(io.out, `HTML statement: ${html}`);
    return 0;
  },
};

/**
 * The payment facts of the statement's lines: read here, or asked of the running service when it
 * holds the home's payment state (src/cli/service-client.ts): the same facts either way.
 */
async function paymentFactsOf(home: string, lineKeys: string[]): Promise<Map<string, LinePaymentFacts>> {
  return hereOrService(
    home,
    () => paymentFactsForStatement(home, lineKeys),
    async (url) => new Map((await callAdmin<PaymentFactsAnswer>(url, '/v1/admin/payment-facts', { lineKeys } satisfies PaymentFactsRequest)).lines.map((l) => [l.lineKey, l.facts])),
  );
}

/** The professionals' names (account holders of the home's professionals in force); none in force: PS ids only. */
async function professionalNamesOf(home: string): Promise<Record<string, string>> {
  try {
    const { professionals } = (await chooseReference(['professionals'], { home, files: {} })).data;
    return Object.fromEntries(Object.entries(professionals).map(([psId, account]) => [psId, account.name]));
  } catch (e) {
    if (e instanceof ReferenceMissingError) return {};
    throw e;
  }
}

/**
 * The family's settlements from the statement index. Normally the bus is opened for writing, the
 * index brought up to date (group `statements`; the home's state store is created if it has none:
 * the first statement builds the index from the topic, later ones read only what is new) and read.
 * When the embedded bus is held by a running `noemie run` (BUS_LOCKED), the group cannot consume:
 * the bus is opened read-only and the index as it is is merged in memory with the family's
 * settlements past the group's offsets (statementFromIndexAndTail) — nothing is written.
 */
async function settlementsFromIndex(home: string, kafka: string | undefined, request: { adherentId: string; from: string; to: string }): Promise<StatementSettlement[]> {
  let bus: Bus;
  try {
    bus = await openCliBus(home, kafka);
  } catch (e) {
    if (!(e instanceof BusError && e.code === 'BUS_LOCKED')) throw e;
    const readOnly = await openCliBus(home, kafka, true);
    // null: no index in LevelDB, or held by the running service (one opener): the family's whole partition is read
    const index = await StatementIndex.openForReading(home);
    try {
      return (await statementFromIndexAndTail(readOnly, index, request)).settlements;
    } finally {
      await index?.close();
      await readOnly.close();
    }
  }
  let index: StatementIndex;
  try {
    index = await StatementIndex.open(home);
  } catch (e) {
    // Kafka: a running `noemie run --kafka` on this home holds its LevelDB (one opener): read without the index
    if (!isLevelLocked(e)) throw e;
    try {
      return (await statementFromIndexAndTail(bus, null, request)).settlements;
    } finally {
      await bus.close();
    }
  }
  try {
    await updateStatementIndex(bus, index);
    return await index.settlementsIn(request);
  } finally {
    await index.close();
    await bus.close();
  }
}
