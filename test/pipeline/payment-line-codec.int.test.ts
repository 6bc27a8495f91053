import { expect, it, vi } from 'vitest';
import { paymentLineCodec } from '../../src/pipeline/payment-line-codec.js';
import { paymentLedgerLineCodec, PaymentsStore, type StoredLine } from '../../src/pipeline/payments-store.js';
import type { LineLedger } from '../../src/payments/types.js';
import { tempDir } from './stages-given.js';

/**
 * `payments.line` values (src/pipeline/payment-line-codec.ts): msgpack records of four structures
 * fixed in the code since session 12, JSON before (sessions 9–11) — both read, as the same objects.
 */
const returned = { payee: 'member:A9', paymentId: 'R0:member:A9', runId: 'R0', amount: '12.50', code: 'AC04', label: 'compte clôturé', blocks: true, file: 'camt054-1.xml', record: 1, at: null };
/** every shape a line takes: with and without each optional part (as storedLine writes them: pairs) */
const lines: StoredLine[] = [
  { settlement: { version: 1, status: 'paid', annulled: false, tiersPayant: false, adherentId: 'A9', amcAmount: '12.50', careDate: '2025-01-10' }, tp: null, paid: [] },
  { settlement: { version: 3, status: 'review', annulled: true, tiersPayant: true, adherentId: null, amcAmount: '1234567.89' }, tp: { version: 3, kind: 'matched', payee: 'ps:591000006', owed: '7.00' }, paid: [['ps:591000006', '7.00'], ['member:A9', '-2.00']] },
  { settlement: null, tp: { version: 1, kind: 'held', payee: null, owed: '0.00' }, paid: [] },
  { settlement: { version: 2, status: 'paid', annulled: false, tiersPayant: false, adherentId: 'A9', amcAmount: '12.50', careDate: '2025-01-10' }, tp: null, returns: 1, paid: [['member:A9', '0.00']], returned: [['E2E1', returned]] },
];

it('round-trips every shape exactly: an optional field left out stays left out (not undefined, not null), in JSON.parse\'s order', () => {
  for (const line of lines) {
    const bytes = Buffer.from(paymentLineCodec.encode(line));
    const back = paymentLineCodec.decode(bytes);
    expect(back).toStrictEqual(line);
    // the same text JSON.stringify made of the line before (key order included)
    expect(JSON.stringify(back)).toBe(JSON.stringify(line));
    expect(bytes.length).toBeLessThan(Buffer.byteLength(JSON.stringify(line)) / 2);
    expect(bytes[0]).not.toBe(0x7b); // never JSON's first byte: the decoder tells the two apart by it
  }
});

it('reads the JSON values written before (sessions 9–11, and the plain-object form of sessions 6–8) as they were', () => {
  for (const line of lines) expect(paymentLineCodec.decode(Buffer.from(JSON.stringify(line), 'utf8'))).toStrictEqual(line);
  const plain = { settlement: null, tp: null, paid: { 'member:A9': '9.00' } };
  expect(paymentLineCodec.decode(Buffer.from(JSON.stringify(plain), 'utf8'))).toStrictEqual(plain);
});

it('a line with a field the structures do not name is written as JSON, whole: nothing is dropped', () => {
  const later = { ...lines[3]!, settlement: { ...lines[3]!.settlement!, origin: 'x' } } as unknown as StoredLine;
  const bytes = Buffer.from(paymentLineCodec.encode(later));
  expect(bytes[0]).toBe(0x7b);
  expect(paymentLineCodec.decode(bytes)).toStrictEqual(later);
  const extraTop = { ...lines[0]!, note: 'n' } as unknown as StoredLine;
  expect(paymentLineCodec.decode(Buffer.from(paymentLineCodec.encode(extraTop)))).toStrictEqual(extraTop);
});

/** A StoredLine as the payment code reads it (payee-keyed objects), fields in the order the stage always built them. */
function ledgerOf(l: StoredLine): LineLedger {
  const line: LineLedger = { settlement: l.settlement, tp: l.tp, paid: Object.fromEntries(l.paid as [string, string][]) };
  if (l.returns !== undefined) line.returns = l.returns;
  if (l.returned !== undefined) line.returned = Object.fromEntries(l.returned as [string, NonNullable<LineLedger['returned']>[string]][]);
  return line;
}

it('the LineLedger view (session 14) writes the same bytes as the StoredLine path and reads every stored form as the LineLedger it holds', () => {
  for (const stored of lines) {
    const ledger = ledgerOf(stored);
    const bytes = Buffer.from(paymentLineCodec.encode(stored));
    // the same bytes for the same line, whichever view writes it
    expect(Buffer.from(paymentLedgerLineCodec.encode(ledger)).equals(bytes)).toBe(true);
    const back = paymentLedgerLineCodec.decode(bytes);
    expect(back).toStrictEqual(ledger);
    expect(JSON.stringify(back)).toBe(JSON.stringify(ledger));
    // JSON values of earlier sessions: pairs, and the plain-object form
    expect(paymentLedgerLineCodec.decode(Buffer.from(JSON.stringify(stored), 'utf8'))).toStrictEqual(ledger);
  }
  const plain = { settlement: null, tp: null, paid: { 'member:A9': '9.00' } };
  expect(paymentLedgerLineCodec.decode(Buffer.from(JSON.stringify(plain), 'utf8'))).toStrictEqual(plain);
  // a field the structures do not name: JSON, whole, as the StoredLine path writes it, and read back with it
  const later = { ...ledgerOf(lines[3]!), settlement: { ...lines[3]!.settlement!, origin: 'x' } } as unknown as LineLedger;
  const json = Buffer.from(paymentLedgerLineCodec.encode(later));
  expect(json[0]).toBe(0x7b);
  expect(paymentLineCodec.decode(json)).toStrictEqual({ ...lines[3]!, settlement: { ...lines[3]!.settlement!, origin: 'x' } });
  expect(paymentLedgerLineCodec.decode(json)).toStrictEqual(later);
});

it('the structures are in the format, not in the writing process: a fresh module instance reads what another wrote', async () => {
  const written = lines.map((l) => Buffer.from(paymentLineCodec.encode(l)));
  vi.resetModules();
  const fresh = (await import('../../src/pipeline/payment-line-codec.js')).paymentLineCodec;
  expect(fresh).not.toBe(paymentLineCodec);
  expect(written.map((b) => fresh.decode(b))).toStrictEqual(lines);
});

it('a home whose lines are JSON (session 11) reads them, and a line written again is msgpack', async () => {
  const { dir: home, cleanup } = await tempDir('payment-line-codec-');
  try {
    const store = await PaymentsStore.open(home);
    try {
      const json = store.level.sub<string>('payments.line', 'text');
      const raw = store.level.sub<Buffer>('payments.line', { encode: (b) => b, decode: (b) => b });
      await store.level.commit(() => lines.forEach((l, i) => json.put(`n:D${i}:1`, JSON.stringify(l))));
      const slice = await store.readSlice({ lineKeys: lines.map((_, i) => `n:D${i}:1`) });
      // as LineLedgers: the pairs back to maps
      const ledgerOf = ({ paid, returned: r, ...rest }: StoredLine): LineLedger => ({ ...rest, paid: Object.fromEntries(paid as [string, string][]), ...(r ? { returned: Object.fromEntries(r as [string, typeof returned][]) } : {}) });
      expect(Object.values(slice.lines)).toStrictEqual(lines.map(ledgerOf));
      // an approval-like step writing one line again: that one is msgpack now, the others still JSON
      const after = { ...slice, lines: { ...slice.lines, 'n:D0:1': { ...slice.lines['n:D0:1']!, paid: { 'member:A9': '12.50' } } } };
      await store.commitApproval(slice, after);
      expect(raw.get('n:D0:1')![0]).toBe(0x40);
      expect(raw.get('n:D1:1')![0]).toBe(0x7b);
      expect((await store.readSlice({ lineKeys: ['n:D0:1', 'n:D1:1'] })).lines).toStrictEqual({ 'n:D0:1': after.lines['n:D0:1'], 'n:D1:1': slice.lines['n:D1:1'] });
    } finally {
      await store.close();
    }
  } finally {
    await cleanup();
  }
});

// Session 21: a line's run list inside its value (a fifth structure, 0x44); the four before unchanged.
it('a line without runs is the same bytes as the build before session 21 wrote (structure 0x40), whichever view writes it', () => {
  // written by main 6f172c6's codec (session 20) for lines[0..3]
  const before = [
    '404101a470616964c2c2a24139a531322e3530aa323032352d30312d3130c0c090c0',
    '404103a6726576696577c3c3c0aa313233343536372e3839c04203a76d617463686564ac70733a353931303030303036a4372e3030c09292ac70733a353931303030303036a4372e303092a96d656d6265723a4139a52d322e3030c0',
    '40c04201a468656c64c0a4302e3030c090c0',
    '404102a470616964c2c2a24139a531322e3530aa323032352d30312d3130c0019192a96d656d6265723a4139a4302e30309192a44532453143a96d656d6265723a4139ac52303a6d656d6265723a4139a25230a531322e3530a441433034b0636f6d70746520636cc3b4747572c3a9c3ad63616d743035342d312e786d6c01c0',
  ];
  lines.forEach((line, i) => {
    expect(Buffer.from(paymentLineCodec.encode(line)).toString('hex')).toBe(before[i]);
    expect(Buffer.from(paymentLedgerLineCodec.encode(ledgerOf(line))).toString('hex')).toBe(before[i]);
  });
});

it('a line with its run list (a returned movement among them) round-trips in both views, as structure 0x44; a run of another shape makes the line JSON, whole', () => {
  const runs = [
    { runId: 'R1', at: '2025-03-31T18:00:00.000Z', moved: [{ payee: 'member:A9', amount: '12.50', returned: { endToEndId: 'E2E1', code: 'AC04', label: 'compte clôturé' } }] },
    { runId: 'R2', at: '2025-04-30T18:00:00.000Z', moved: [{ payee: 'member:A9', amount: '-2.00' }, { payee: 'ps:591000006', amount: '7.00' }] },
  ];
  for (const base of lines) {
    const stored: StoredLine = { ...base, runs };
    const bytes = Buffer.from(paymentLineCodec.encode(stored));
    expect(bytes[0]).toBe(0x44);
    expect(paymentLineCodec.decode(bytes)).toStrictEqual(stored);
    const ledger = { ...ledgerOf(base), runs };
    expect(Buffer.from(paymentLedgerLineCodec.encode(ledger)).equals(bytes)).toBe(true);
    expect(paymentLedgerLineCodec.decode(bytes)).toStrictEqual(ledger);
    // the run list costs its values, not a key and its names: well under the separate JSON value it replaces
    expect(bytes.length - Buffer.from(paymentLineCodec.encode(base)).length).toBeLessThan(Buffer.byteLength(JSON.stringify(runs)) / 2);
  }
  const odd = { ...lines[0]!, runs: [{ ...runs[1]!, by: 'ops' }] } as unknown as StoredLine;
  const json = Buffer.from(paymentLineCodec.encode(odd));
  expect(json[0]).toBe(0x7b);
  expect(paymentLineCodec.decode(json)).toStrictEqual(odd);
  expect(paymentLedgerLineCodec.decode(Buffer.from(paymentLedgerLineCodec.encode({ ...ledgerOf(lines[0]!), runs: odd.runs! })))).toStrictEqual({ ...ledgerOf(lines[0]!), runs: odd.runs });
});
