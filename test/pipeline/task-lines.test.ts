import { deserialize, serialize } from 'node:v8';
import { describe, expect, it } from 'vitest';
import type { ActLine } from '../../src/model/act-line.js';
import type { Beneficiary } from '../../src/model/reference.js';
import type { LineRequest } from '../../src/pipeline/liquidate-lines.js';
import { LineMessageSchema } from '../../src/bus/messages.js';
import { lineKeyOf } from '../../src/model/act-line.js';
import { lineRoutingOf } from '../../src/pipeline/line-routing.js';
import { packRaw, packRequests, routeOf, unpackRaw, unpackRequests, type RawCheck } from '../../src/pipeline/task-lines.js';
import { handLine } from './liquidation-support.js';

/**
 * A pool task's lines cross the thread boundary packed (values without their names): what the
 * worker rebuilds must be the requests the service had — same values, same keys in the same order,
 * `undefined` fields kept — through a real structured clone.
 */
const person = { nir: '185037512345678', rang: 1, adherentId: 'ADH1', birthDate: '1985-03-12' } as unknown as Beneficiary;

function requests(): LineRequest[] {
  const base = handLine();
  const other: ActLine = { ...base, lineNo: 2, side: 'L', expense: '12.30' };
  // another key order (a line built elsewhere), and a field set to undefined
  const reordered = Object.fromEntries(Object.entries({ ...base, lineNo: 3 }).reverse()) as unknown as ActLine;
  const withUndefined = { ...base, lineNo: 4, psSpecialty: undefined } as unknown as ActLine;
  return [
    { line: base, beneficiary: person, asOf: '2026-12-06' },
    { line: other, beneficiary: person, asOf: '2026-12-06' },
    { line: reordered, beneficiary: null, asOf: '2026-12-05' },
    { line: withUndefined, beneficiary: person, asOf: '2026-12-06' },
    { line: { ...base, lineNo: 5 }, beneficiary: person, asOf: '2026-12-06' },
  ];
}

describe('pool task lines, packed', () => {
  it('come back through a structured clone as the same requests, keys in the same order, undefined fields kept', () => {
    const given = requests();
    const packed = packRequests(given);
    // three key orders: the line's, the reversed one, then the line's again
    expect(packed.shapes).toHaveLength(3);
    const back = unpackRequests(deserialize(serialize(packed)) as ReturnType<typeof packRequests>);
    expect(back).toStrictEqual(given);
    back.forEach((r, i) => {
      expect(Object.keys(r.line)).toEqual(Object.keys(given[i]!.line));
      expect(JSON.stringify(r)).toBe(JSON.stringify(given[i]));
    });
    expect('psSpecialty' in back[3]!.line).toBe(true);
    // the beneficiary shared by several lines is one object after the clone (copied once)
    expect(back[0]!.beneficiary).toBe(back[1]!.beneficiary);
  });

  it('weighs less than the requests as objects', () => {
    const many: LineRequest[] = Array.from({ length: 256 }, (_, i) => ({ line: { ...handLine(), lineNo: i + 1 }, beneficiary: person, asOf: '2026-12-06' }));
    expect(serialize(packRequests(many)).length).toBeLessThan(0.7 * serialize(many).length);
  });

  it('refuses a request asking for a new version (a re-liquidation task is sent as it is)', () => {
    expect(() => packRequests([{ line: handLine(), beneficiary: person, asOf: '2026-12-06', newVersion: true }])).toThrow(/newVersion/);
  });
});

describe('pool task lines, raw and unchecked (Kafka): checked by the worker', () => {
  const messages = () => [1, 2, 3].map((lineNo) => ({ line: { ...handLine(), lineNo }, origin: { file: 'd.csv', record: lineNo }, recordId: `0123456789abcdef:1:${lineNo}` }));
  const routes = (ms: ReturnType<typeof messages>) => ms.map((m) => routeOf(m.line.nir, m.line.rang, m.line.amcMemberId, m.recordId, lineKeyOf(m.line)));
  const check = (ms: ReturnType<typeof messages>, r = routes(ms)): RawCheck => ({ topic: 'decompte-lines', partition: 3, offsets: ms.map((_, i) => 10 + i), routes: r });
  const unpack = (jsons: string[], c: RawCheck) => unpackRaw(deserialize(serialize(packRaw(jsons, jsons.map(() => person), jsons.map(() => '2026-12-06'), c))) as ReturnType<typeof packRaw>);

  it("give the topic schema's line, as a parsing consumer got it", () => {
    const ms = messages();
    const back = unpack(ms.map((m) => JSON.stringify(m)), check(ms));
    expect(back.map((r) => r.line)).toStrictEqual(ms.map((m) => LineMessageSchema.parse(m).line));
    expect(back.map((r) => r.asOf)).toEqual(['2026-12-06', '2026-12-06', '2026-12-06']);
  });

  it('refuse a value that is not JSON or fails the schema, naming the record', () => {
    const ms = messages();
    const jsons = ms.map((m) => JSON.stringify(m));
    expect(() => unpack([jsons[0]!, '{"line":', jsons[2]!], check(ms))).toThrow(expect.objectContaining({ code: 'BUS_INVALID_MESSAGE', message: 'decompte-lines[3]@11: value is not JSON' }));
    const bad = JSON.stringify({ ...ms[2], origin: { file: 'd.csv', record: 0 } });
    expect(() => unpack([jsons[0]!, jsons[1]!, bad], check(ms))).toThrow(expect.objectContaining({ code: 'BUS_INVALID_MESSAGE', context: expect.objectContaining({ offset: '12' }) }));
  });

  it("refuse a line that is not what the service routed, deduplicated or filed it by (a duplicate key, a line-key header that contradicts it)", () => {
    const ms = messages();
    const jsons = ms.map((m) => JSON.stringify(m));
    const r = routes(ms);
    // the byte scan reads the first "nir", JSON.parse keeps the last
    const twice = jsons[1]!.replace('"line":{', `"line":{"nir":"${ms[1]!.line.nir.replace(/^1/, '2')}",`);
    // what the service routed it by: the byte scan's reading (line-routing.ts)
    const read = lineRoutingOf(Buffer.from(twice)) as unknown as { line: ActLine; recordId?: string };
    expect(read.line.nir).not.toBe(ms[1]!.line.nir);
    const scanned = routeOf(read.line.nir, read.line.rang, read.line.amcMemberId, read.recordId, lineKeyOf(ms[1]!.line));
    expect(() => unpack([jsons[0]!, twice, jsons[2]!], check(ms, [r[0]!, scanned, r[2]!]))).toThrow(expect.objectContaining({ code: 'BUS_INVALID_MESSAGE', context: expect.objectContaining({ offset: '11' }) }));
    for (const wrong of [
      routeOf(ms[0]!.line.nir, ms[0]!.line.rang, ms[0]!.line.amcMemberId, ms[0]!.recordId, 'noemie-x:1:1'),
      routeOf(ms[0]!.line.nir, ms[0]!.line.rang, ms[0]!.line.amcMemberId, undefined, lineKeyOf(ms[0]!.line)),
      routeOf(ms[0]!.line.nir, ms[0]!.line.rang + 1, ms[0]!.line.amcMemberId, ms[0]!.recordId, lineKeyOf(ms[0]!.line)),
      routeOf(ms[0]!.line.nir, ms[0]!.line.rang, `${ms[0]!.line.amcMemberId}X`, ms[0]!.recordId, lineKeyOf(ms[0]!.line)),
    ]) {
      expect(() => unpack(jsons, check(ms, [wrong, r[1]!, r[2]!]))).toThrow(expect.objectContaining({ code: 'BUS_INVALID_MESSAGE', context: expect.objectContaining({ offset: '10' }) }));
    }
    // the same lines without a check (the embedded bus's own records, checked by `produce`): parsed as they are, no refusal
    expect(unpackRaw(packRaw([jsons[0]!, twice], [person, person], ['2026-12-06', '2026-12-06']))[1]!.line.nir).toBe(ms[1]!.line.nir);
  });
});
