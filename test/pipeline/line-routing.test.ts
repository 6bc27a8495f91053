import { describe, expect, it } from 'vitest';
import { lineRoutingOf } from '../../src/pipeline/line-routing.js';
import { packRaw, unpackRaw } from '../../src/pipeline/task-lines.js';
import { lineMessage, NIRS } from '../bus/fixtures.js';

/**
 * What the liquidation service reads of a line consumed raw (line-routing.ts): NIR, rang, member
 * number and record id, from the bytes without parsing them — the same as parsing them gives —, and
 * the lines crossing to a worker as one buffer of their JSON (task-lines.ts RawLines).
 */
const bytes = (s: string) => new TextEncoder().encode(s);
const expected = (m: ReturnType<typeof lineMessage> & { recordId?: string }) => ({
  line: { nir: m.line.nir, rang: m.line.rang, amcMemberId: m.line.amcMemberId },
  ...(m.recordId !== undefined ? { recordId: m.recordId } : {}),
});

describe('line routing: the fields the service reads of a raw line', () => {
  it('reads NIR, rang, member number and record id from the bytes, as parsing gives them', () => {
    for (const [i, nir] of NIRS.entries()) {
      const m = { ...lineMessage(nir, (i % 9) + 1, i + 1), recordId: `0123456789abcdef:1:${i}` };
      const json = JSON.stringify(m);
      expect(lineRoutingOf(bytes(json))).toEqual(expected(m));
      expect(lineRoutingOf(json)).toEqual(expected(m));
      // a view inside a larger buffer (the ingest sink's spool chunk, the log's read buffer)
      const padded = bytes(`xx"nir":"0000000000000"${json}"rang":7`);
      expect(lineRoutingOf(padded.subarray(23, 23 + bytes(json).length))).toEqual(expected(m));
    }
  });

  it('without a record id: none read', () => {
    const m = lineMessage(NIRS[0], 2, 1);
    expect(lineRoutingOf(bytes(JSON.stringify(m)))).toEqual(expected(m));
    expect(lineRoutingOf(bytes(JSON.stringify(m)))).not.toHaveProperty('recordId');
  });

  it('a member number with an escape or non-ASCII characters, a field name inside a string: the same fields', () => {
    for (const member of ['AD"H\\1', 'ADHé€1', 'x"nir":"1', 'ADH\n2']) {
      const m = lineMessage(NIRS[1], 3, 1, 'a "rang":5 "nir":"000".csv');
      m.line.amcMemberId = member;
      expect(lineRoutingOf(bytes(JSON.stringify(m)))).toEqual(expected(m));
    }
  });

  it('the lines as one buffer: each parsed back as the message’s line, strings and bytes alike', () => {
    const ms = NIRS.slice(0, 3).map((nir, i) => lineMessage(nir, 1, i + 1, `fé${i}.csv`));
    ms[1]!.line.amcMemberId = 'ADHé€1';
    const jsons = ms.map((m, i) => (i % 2 === 0 ? bytes(JSON.stringify(m)) : JSON.stringify(m)));
    const raw = packRaw(jsons, [null, null, null], ['2025-03-01', '2025-03-02', '2025-03-03']);
    const back = unpackRaw(structuredClone(raw, { transfer: [raw.bytes] }));
    expect(raw.bytes.byteLength).toBe(0); // transferred, not copied
    expect(back).toEqual(ms.map((m, i) => ({ line: m.line, beneficiary: null, asOf: `2025-03-0${i + 1}` })));
    expect(back.map((r) => Object.keys(r.line))).toEqual(ms.map((m) => Object.keys(m.line)));
  });
});

describe('line routing: what the byte scan assumes of the line message', () => {
  // lineRoutingOf takes the FIRST `"nir":"`, `"rang":`, `"amcMemberId":"` and `"recordId":"` of the
  // bytes: right only while each name is a property of exactly one object of the message. A field of
  // that name added anywhere else (an origin's, a nested beneficiary's) must fail here, not route a
  // line to the wrong family.
  it('each field it reads is named once in the whole message schema', async () => {
    const { z } = await import('zod');
    const { LineMessageSchema } = await import('../../src/bus/messages.js');
    const names: string[] = [];
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) return node.forEach(walk);
      if (node === null || typeof node !== 'object') return;
      const props = (node as { properties?: Record<string, unknown> }).properties;
      if (props) names.push(...Object.keys(props));
      Object.values(node).forEach(walk);
    };
    walk(z.toJSONSchema(LineMessageSchema, { unrepresentable: 'any' }));
    expect(names.length).toBeGreaterThan(20);
    for (const field of ['nir', 'rang', 'amcMemberId', 'recordId']) expect(names.filter((n) => n === field), field).toHaveLength(1);
  });
});
