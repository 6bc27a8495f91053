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
