import { describe, expect, it } from 'vitest';
import { MAX_DECOMPTE_DEPTH, createXmlCodec, encodeXml, xmlCodec } from '../../src/ingest/xml/index.js';
import { IngestError } from '../../src/ingest/types.js';
import { NIR_A, NIR_B, collect, consultation, linesOf, memoryInput, rejectsOf } from './codec-support.js';

const DECOMPTE_OPEN = `<decompte id="D000000001" caisse="011751001" roPaymentDate="2024-03-12" operation="I">`;
const BENEFICIARY = `<beneficiary nir="${NIR_A.nir}" nirKey="${NIR_A.nirKey}" rang="1" birthDate="1985-07-14" amcMemberId="ADH000123"/>`;
const LINE_ATTRS =
  'psId="751234567" psSpecialty="01" psDptm="Y" actCode="G" careStart="2024-03-04" careEnd="2024-03-04" quantity="1" coefficient="1" expense="30.00" br="30.00" roRate="70" roAmount="21.00" pf="2.00" franchise="0.00" pathway="I" tp="00" accident="N"';
const line = (no: number, attrs = LINE_ATTRS) => `<line lineNo="${no}" ${attrs}/>`;

function doc(...decomptes: string[]): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<decomptes>\n${decomptes.join('\n')}\n</decomptes>\n`;
}
function decompte(...lines: string[]): string {
  return `${DECOMPTE_OPEN}\n${BENEFICIARY}\n${lines.join('\n')}\n</decompte>`;
}

describe('XML décompte codec', () => {
  it('reads décompte, beneficiary and line attributes into one ActLine per <line>', async () => {
    const events = await collect(xmlCodec.decode(memoryInput('d.xml', doc(decompte(line(1), line(2, LINE_ATTRS.replace('actCode="G"', 'actCode="C"')))))));
    // text lines: 1 <?xml, 2 <decomptes>, 3 <decompte>, 4 <beneficiary>, 5 and 6 the <line>s
    expect(events).toEqual([
      { kind: 'line', line: consultation(), origin: { file: 'd.xml', record: 1, textLine: 5 } },
      { kind: 'line', line: consultation({ lineNo: 2, actCode: 'C' }), origin: { file: 'd.xml', record: 2, textLine: 6 } },
    ]);
  });

  it('streams: tiny chunks, comments, whitespace; record numbers run across décomptes', async () => {
    const text = `\uFEFF<?xml version="1.0"?><!-- a comment --><decomptes>${decompte(line(1))}<!-- between -->${decompte(line(2), line(3))}</decomptes>`;
    const events = await collect(xmlCodec.decode(memoryInput('d.xml', text, { chunk: 3 })));
    expect(events.map((e) => (e.kind === 'line' ? [e.origin.record, e.line.lineNo] : null))).toEqual([
      [1, 1],
      [2, 2],
      [3, 3],
    ]);
  });

  it('decodes the predefined entities and character references, keeps UTF-8 accents', async () => {
    const ben = BENEFICIARY.replace('ADH000123', 'A&amp;B&#201;&#xC9;É');
    const [event] = await collect(xmlCodec.decode(memoryInput('d.xml', doc(`${DECOMPTE_OPEN}${ben}${line(1)}</decompte>`), { chunk: 5 })));
    expect(event).toMatchObject({ kind: 'line', line: { amcMemberId: 'A&BÉÉÉ' } });
  });

  it('reads missing optional attributes as null (specialty, side, birth date)', async () => {
    const ben = BENEFICIARY.replace(' birthDate="1985-07-14"', '');
    const attrs = LINE_ATTRS.replace(' psSpecialty="01"', '');
    const [event] = await collect(xmlCodec.decode(memoryInput('d.xml', doc(`${DECOMPTE_OPEN}${ben}${line(1, attrs)}</decompte>`))));
    expect(event).toMatchObject({ kind: 'line', line: { birthDate: null, psSpecialty: null, side: null } });
  });

  it('opens the input twice: a structure pass, then the decoding pass', async () => {
    const input = memoryInput('d.xml', doc(decompte(line(1))));
    await collect(xmlCodec.decode(input));
    expect(input.opens).toBe(2);
  });
});

describe('XML décompte codec: record-level rejections', () => {
  it('names the element and attribute of each issue, lists them all, and goes on', async () => {
    const bad = LINE_ATTRS.replace('careStart="2024-03-04"', 'careStart="2024-02-30"').replace('expense="30.00"', 'expense="30,00"').replace('pathway="I"', 'pathway="X"');
    const events = await collect(xmlCodec.decode(memoryInput('d.xml', doc(decompte(line(1), line(2, bad), line(3))))));
    expect(linesOf(events).map((l) => l.lineNo)).toEqual([1, 3]);
    const [rejected] = rejectsOf(events);
    expect(rejected?.origin).toEqual({ file: 'd.xml', record: 2, textLine: 6 });
    expect(rejected?.issues.map((i) => [i.path, i.input])).toEqual([
      [['line', 'careStart'], '2024-02-30'],
      [['line', 'expense'], '30,00'],
      [['line', 'pathway'], 'X'],
    ]);
    expect(rejected?.raw).toContain('lineNo="2"');
    expect(rejected?.raw).toContain('<decompte id="D000000001"');
  });

  it('a bad NIR key on the beneficiary rejects each line of the décompte, naming beneficiary/nirKey', async () => {
    const ben = BENEFICIARY.replace(`nirKey="${NIR_A.nirKey}"`, 'nirKey="09"');
    const events = await collect(xmlCodec.decode(memoryInput('d.xml', doc(`${DECOMPTE_OPEN}${ben}${line(1)}${line(2)}</decompte>`))));
    expect(rejectsOf(events).map((r) => [r.origin.record, r.issues.map((i) => i.path)])).toEqual([
      [1, [['beneficiary', 'nirKey']]],
      [2, [['beneficiary', 'nirKey']]],
    ]);
  });

  it('missing and unknown attributes are issues', async () => {
    const attrs = LINE_ATTRS.replace('psId="751234567" ', 'colour="blue" ');
    const [rejected] = rejectsOf(await collect(xmlCodec.decode(memoryInput('d.xml', doc(decompte(line(1, attrs)))))));
    expect(rejected?.issues).toEqual([
      expect.objectContaining({ code: 'unrecognized_keys', path: ['line', 'colour'] }),
      expect.objectContaining({ path: ['line', 'psId'], message: 'missing attribute psId on <line>' }),
    ]);
  });

  it('a décompte that is not well-formed is rejected whole (one reject), the next décompte is read', async () => {
    const broken = `${DECOMPTE_OPEN}${BENEFICIARY}<line lineNo="1" ${LINE_ATTRS}><line lineNo="2" ${LINE_ATTRS}/></decompte>`;
    const events = await collect(xmlCodec.decode(memoryInput('d.xml', doc(broken, decompte(line(3))))));
    expect(events).toHaveLength(2);
    const [rejected] = rejectsOf(events);
    // the broken décompte holds two <line>s: records 1 and 2; the next line is record 3
    expect(rejected).toMatchObject({ origin: { record: 1 }, issues: [{ code: 'xml_malformed', path: ['decompte'], message: expect.stringContaining('décompte #1 (id D000000001) is not well-formed') }] });
    expect(events[1]).toMatchObject({ kind: 'line', origin: { record: 3 } });
  });

  it('a décompte over the size bound is rejected unread; memory holds only the bound', async () => {
    const codec = createXmlCodec({ maxDecompteChars: 2000 });
    const many = Array.from({ length: 40 }, (_, i) => line(i + 1)).join('\n');
    const events = await collect(codec.decode(memoryInput('d.xml', doc(decompte(line(1)), decompte(many), decompte(line(2))), { chunk: 256 })));
    expect(events.map((e) => e.kind)).toEqual(['line', 'reject', 'line']);
    expect(rejectsOf(events)[0]).toMatchObject({ origin: { record: 2 }, issues: [{ code: 'too_long', message: expect.stringContaining('its 40 <line>(s) are rejected') }] });
    // 1 + 40 records before it
    expect(events[2]).toMatchObject({ origin: { record: 42 } });
  });

  it('100 000 nested tags in one décompte: that décompte is rejected with its id and the depth limit, the others are read', async () => {
    const deep = `${'<x>'.repeat(100_000)}${'</x>'.repeat(100_000)}`;
    const hostile = `<decompte id="D-DEEP" caisse="011751001" roPaymentDate="2024-03-12" operation="I">${BENEFICIARY}${line(2)}${deep}</decompte>`;
    const events = await collect(xmlCodec.decode(memoryInput('d.xml', doc(decompte(line(1)), hostile, decompte(line(3))))));
    expect(events.map((e) => e.kind)).toEqual(['line', 'reject', 'line']);
    const [rejected] = rejectsOf(events);
    expect(rejected).toMatchObject({ origin: { file: 'd.xml', record: 2 }, issues: [{ code: 'too_deep', path: ['decompte'] }] });
    expect(rejected!.issues[0]!.message).toBe(`décompte #2 (id D-DEEP) nests elements deeper than ${MAX_DECOMPTE_DEPTH} levels: rejected unread`);
    // décompte #1 holds record 1, #2 record 2, #3 record 3
    expect(events[2]).toMatchObject({ kind: 'line', origin: { record: 3 } });
  });

  it('a parser failure inside one décompte rejects that décompte only, with its id', async () => {
    // deep nesting just under the limit is parsed (a décompte has 2 levels: 8 is well within)
    const nested = `${'<x>'.repeat(6)}${'</x>'.repeat(6)}`;
    const odd = `<decompte id="D-ODD" caisse="011751001" roPaymentDate="2024-03-12" operation="I">${BENEFICIARY}${line(1)}${nested}</decompte>`;
    const events = await collect(xmlCodec.decode(memoryInput('d.xml', doc(odd, decompte(line(2))))));
    expect(events.map((e) => e.kind)).toEqual(['reject', 'line']);
    expect(rejectsOf(events)[0]!.issues.map((i) => i.message)).toContain('unexpected element <x> in décompte #1');
  });

  it('a décompte without a beneficiary, or with text, is rejected with the reason', async () => {
    const events = await collect(xmlCodec.decode(memoryInput('d.xml', doc(`${DECOMPTE_OPEN}${line(1)}oops</decompte>`))));
    expect(rejectsOf(events)[0]?.issues.map((i) => i.message)).toEqual(
      expect.arrayContaining(['décompte #1 must hold exactly one <beneficiary>, found 0', 'unexpected text "oops" in décompte #1']),
    );
  });
});

describe('XML décompte codec: the document is refused whole', () => {
  const refused = async (text: string) => {
    const input = memoryInput('d.xml', text);
    const events: unknown[] = [];
    const err = await (async () => {
      for await (const e of xmlCodec.decode(input)) events.push(e);
    })().catch((e: unknown) => e);
    // nothing published before the refusal: the structure pass runs first
    expect(events).toEqual([]);
    expect(err).toBeInstanceOf(IngestError);
    return err as IngestError;
  };

  it('a DOCTYPE with entities (billion laughs) → INGEST_XML_DOCTYPE', async () => {
    const text = `<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>\n<decomptes>${decompte(line(1))}</decomptes>`;
    const err = await refused(text);
    expect(err.code).toBe('INGEST_XML_DOCTYPE');
    expect(err.message).toContain('d.xml declares a DOCTYPE at text line 2');
  });

  it('an ENTITY declaration late in the file, after good décomptes → INGEST_XML_DOCTYPE, nothing published', async () => {
    const err = await refused(doc(decompte(line(1)), '<!ENTITY x "y">'));
    expect(err.code).toBe('INGEST_XML_DOCTYPE');
  });

  it('a truncated document → INGEST_XML_MALFORMED naming the open décompte', async () => {
    const text = doc(decompte(line(1)), decompte(line(2))).slice(0, -40);
    const err = await refused(text);
    expect(err.code).toBe('INGEST_XML_MALFORMED');
    expect(err.message).toMatch(/ends inside décompte #2 opened at text line \d+/);
  });

  it('content outside the décomptes → INGEST_XML_MALFORMED with the line', async () => {
    const err = await refused(`<decomptes>\n${decompte(line(1))}\n<line lineNo="9"/>\n</decomptes>`);
    expect(err.code).toBe('INGEST_XML_MALFORMED');
    expect(err.message).toContain('unexpected content after décompte #1 at text line 6');
  });

  it('another root element, or a non-UTF-8 encoding → INGEST_XML_MALFORMED', async () => {
    expect((await refused('<invoices/>')).code).toBe('INGEST_XML_MALFORMED');
    expect((await refused('<?xml version="1.0" encoding="ISO-8859-1"?><decomptes/>')).message).toContain('declares encoding ISO-8859-1');
  });
});

describe('encodeXml', () => {
  it('groups consecutive lines of one décompte and reads back identically', async () => {
    const lines = [
      consultation(),
      consultation({ lineNo: 2, actCode: 'C', side: 'R', psSpecialty: null, coefficient: '1.5' }),
      consultation({ decompteId: 'D000000002', operation: 'A', ...NIR_B, rang: 2, birthDate: null, amcMemberId: 'ADH<"É">', accident: true }),
    ];
    const text = [...encodeXml(lines)].join('');
    expect(text.match(/<decompte /g)).toHaveLength(2);
    expect(text).toContain('amcMemberId="ADH&lt;&quot;É&quot;&gt;"');
    expect(linesOf(await collect(xmlCodec.decode(memoryInput('d.xml', text))))).toEqual(lines);
  });
});
