import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DirtyFamilies } from '../../src/pipeline/statement-dirty.js';
import { StatementIndex } from '../../src/pipeline/statement-index.js';
import { STATEMENTS_WHERE, whereOfText, whereText, type Where } from '../../src/pipeline/statement-where.js';
import { compositeKey } from '../../src/state/kv-store.js';
import { settlement, tempDir } from './stages-given.js';

/**
 * `statements.where` values (src/pipeline/statement-where.ts): text `<version>␟<adherentId>␟<careDate>`
 * since session 19, JSON `{ key, version }` before — both read.
 */
const FAMILY = 'ADH0000042';

describe('statements.where text form', () => {
  const cases: [string, Where][] = [
    ['noemie:D1:1', { key: compositeKey(FAMILY, '2025-02-03', 'noemie:D1:1'), version: 1 }],
    ['noemie:D1:2', { key: compositeKey(FAMILY, '2025-02-04', 'noemie:D1:2'), version: 12 }],
    ['noemie:D1:3', { key: null, version: 4 }],
    // a lineKey that is a suffix of another part, non-ASCII in a part
    ['1', { key: compositeKey('ADHé1', '2025-02-04', '1'), version: 2 }],
  ];

  it('round-trips, shorter than the JSON it replaces, never starting with `{`', () => {
    for (const [lineKey, w] of cases) {
      const text = whereText(lineKey, w);
      expect(text.startsWith('{')).toBe(false);
      expect(whereOfText(lineKey, text)).toStrictEqual(w);
      expect(Buffer.byteLength(text)).toBeLessThan(Buffer.byteLength(JSON.stringify(w)));
    }
    expect(whereText('noemie:D1:1', cases[0]![1])).toBe(`1\u001f${FAMILY}\u001f2025-02-03`);
  });

  it('reads the JSON written before as the object it was', () => {
    for (const [lineKey, w] of cases) expect(whereOfText(lineKey, JSON.stringify(w))).toStrictEqual(w);
  });

  it('writes as JSON what the text cannot hold exactly (a key not ending with its lineKey, a version not an integer)', () => {
    const odd: [string, Where][] = [
      ['noemie:D9:1', { key: compositeKey(FAMILY, '2025-02-03', 'other'), version: 1 }],
      ['noemie:D9:2', { key: null, version: 1.5 }],
    ];
    for (const [lineKey, w] of odd) {
      const text = whereText(lineKey, w);
      expect(text).toBe(JSON.stringify(w));
      expect(whereOfText(lineKey, text)).toStrictEqual(w);
    }
  });
});

describe('statement index over a home whose `statements.where` is JSON (before session 19)', () => {
  let home = '';
  let cleanup: () => Promise<void> = async () => undefined;
  let index: StatementIndex;
  beforeEach(async () => {
    ({ dir: home, cleanup } = await tempDir('statement-where-'));
    index = await StatementIndex.open(home, { sync: false });
  });
  afterEach(async () => {
    await index.close();
    await cleanup();
  });

  it('reads the old entries (version, family), skips an old version, moves a line on a newer one and writes it as text', async () => {
    const a = settlement({ lineKey: 'noemie:D1:1', beneficiary: { nir: '1850575123456', rang: 1 }, adherentId: FAMILY, careDate: '2025-02-03', version: 2 });
    const b = settlement({ lineKey: 'noemie:D1:2', beneficiary: { nir: '1850575123456', rang: 2 }, adherentId: FAMILY, careDate: '2025-02-04', version: 1 });
    // what the index wrote before: its lines, and JSON `where` entries
    await index.apply([a, b]);
    const json = index.level.sub<Where>(STATEMENTS_WHERE, 'json');
    await index.level.commit(() => {
      json.put(a.lineKey, { key: compositeKey(FAMILY, a.careDate, a.lineKey), version: 2 });
      json.put(b.lineKey, { key: compositeKey(FAMILY, b.careDate, b.lineKey), version: 1 });
    });
    const text = index.level.sub<string>(STATEMENTS_WHERE, 'text');
    expect((await text.entriesIn()).map(([, v]) => v.startsWith('{'))).toEqual([true, true]);
    expect(index.whereOf(a.lineKey)).toStrictEqual({ key: compositeKey(FAMILY, a.careDate, a.lineKey), version: 2 });
    expect(new DirtyFamilies(index.level).indexedFamilyOf(b.lineKey)).toBe(FAMILY);

    // a redelivered version changes nothing (the old entry's version is read); a newer one moves the line to another family
    await index.apply([a]);
    expect((await text.entriesIn()).map(([, v]) => v.startsWith('{'))).toEqual([true, true]);
    const moved = { ...b, adherentId: 'ADH0000043', version: 2 };
    await index.apply([moved]);
    expect(index.whereOf(b.lineKey)).toStrictEqual({ key: compositeKey('ADH0000043', b.careDate, b.lineKey), version: 2 });
    expect(await text.entriesIn()).toStrictEqual([
      [a.lineKey, JSON.stringify({ key: compositeKey(FAMILY, a.careDate, a.lineKey), version: 2 })],
      [b.lineKey, `2\u001fADH0000043\u001f${b.careDate}`],
    ]);
    // the old family's key was removed (read from the JSON entry), the new one is there
    expect(await index.settlementsIn({ adherentId: FAMILY, from: '2025-01-01', to: '2025-12-31' })).toHaveLength(1);
    expect(await index.settlementsIn({ adherentId: 'ADH0000043', from: '2025-01-01', to: '2025-12-31' })).toHaveLength(1);
  });
});
