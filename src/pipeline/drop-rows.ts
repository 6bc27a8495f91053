import { splitFields } from '../ingest/csv/lines.js';
import type { CsvRowLayout } from '../ingest/types.js';
import type { BeneficiaryIndex } from '../ingest/reference/beneficiaries.js';
import type { ActLine } from '../model/act-line.js';
import type { Beneficiary } from '../model/reference.js';

/**
 * Where `noemie liquidate`'s reader sends a raw CSV row (src/pipeline/drop-liquidator.ts
 * `liquidateRows`): the row's family and beneficiary, read from the three fields they depend on
 * (nir, rang, amc_member_id), not from a validated act line — validation happens in the shard.
 *
 * The same family as `stateKeyOf` gives the validated line, for every row that validates: those
 * fields are trimmed and the rang read as an integer exactly as `candidateFromText` does, and the
 * schema keeps a valid nir and amc_member_id as they are. A row that does not validate may go to
 * any shard: it is rejected there and touches no ledger.
 */
export interface RowRoute {
  family: string;
  beneficiary: Beneficiary | null;
}

export interface RowRouter {
  (text: string): RowRoute;
}

export function rowRouter(layout: CsvRowLayout, beneficiaries: Pick<BeneficiaryIndex, 'byNirRang'>): RowRouter {
  const at = (field: keyof ActLine) => layout.positions.find(([f]) => f === field)![1];
  const nirAt = at('nir');
  const rangAt = at('rang');
  const memberAt = at('amcMemberId');
  const last = Math.max(nirAt, rangAt, memberAt);
  const wanted = new Int32Array(last + 1).fill(-1);
  wanted[nirAt] = 0;
  wanted[rangAt] = 1;
  wanted[memberAt] = 2;
  const found: string[] = ['', '', ''];
  return (text) => {
    found[0] = found[1] = found[2] = '';
    if (text.includes('"')) {
      // Quoted fields: the codec's own splitter (csv-parse); an unreadable row is rejected in its shard.
      const fields = splitFields(text);
      if (!('error' in fields)) for (let i = 0; i <= last && i < fields.length; i++) if (wanted[i]! >= 0) found[wanted[i]!] = fields[i]!;
    } else {
      // A plain row: only the fields up to the last one needed, found by their semicolons (no split of the 28).
      let start = 0;
      for (let i = 0; i <= last; i++) {
        const end = text.indexOf(';', start);
        if (wanted[i]! >= 0) found[wanted[i]!] = end < 0 ? text.slice(start) : text.slice(start, end);
        if (end < 0) break;
        start = end + 1;
      }
    }
    const nir = found[0]!.trim();
    const rangText = found[1]!.trim();
    // as candidateFromText reads an integer field: a number when it is one, the text otherwise (then rejected)
    const rang = (/^-?\d+$/.test(rangText) ? Number(rangText) : rangText) as number;
    const beneficiary = beneficiaries.byNirRang(nir, rang) ?? null;
    return { family: beneficiary?.adherentId ?? found[2]!.trim(), beneficiary };
  };
}
