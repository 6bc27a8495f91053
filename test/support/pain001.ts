import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Decimal } from 'decimal.js';
import { XMLParser } from 'fast-xml-parser';

/**
 * The one check every test that writes a pain.001 file runs on it: valid against the EPC SCT
 * customer-to-bank XSD the team keeps outside the project (`../shared/xsd/pain.001.001.09.xsd`,
 * EPC132-08 2023) with `xmllint --schema` (Debian libxml2-utils, installed by scripts/setup.sh),
 * and its control sums equal to its transactions (the XSD cannot check that). Throws with
 * xmllint's message naming the file, line and element when the file is not valid.
 */
export const PAIN_001_XSD = join(import.meta.dirname, '..', '..', '..', 'shared', 'xsd', 'pain.001.001.09.xsd');

const exec = promisify(execFile);
const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@_', parseTagValue: false, isArray: (name) => name === 'CdtTrfTxInf' || name === 'PmtInf' });

export interface Pain001Tx {
  PmtId: { InstrId: string; EndToEndId: string };
  Amt: { InstdAmt: { '#text': string; '@_Ccy': string } };
  Cdtr: { Nm: string };
  CdtrAcct: { Id: { IBAN: string } };
  RmtInf: { Ustrd: string };
}

export interface Pain001Doc {
  GrpHdr: { MsgId: string; NbOfTxs: string; CtrlSum: string; InitgPty: { Nm: string; Id?: { OrgId: { Othr: { Id: string; SchmeNm?: { Cd: string } } } } } };
  PmtInf: { ReqdExctnDt: { Dt: string }; NbOfTxs: string; CtrlSum: string; Dbtr: { Nm: string }; CdtTrfTxInf: Pain001Tx[] }[];
}

export interface ValidPain001 {
  doc: Pain001Doc;
  transactions: Pain001Tx[];
  endToEndIds: string[];
  text: string;
}

/** Validates one pain.001 file against the EPC XSD and its sums; returns it parsed. */
export async function validPain001(file: string): Promise<ValidPain001> {
  try {
    await exec('xmllint', ['--noout', '--schema', PAIN_001_XSD, file]);
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`pain.001 ${file} is not valid against the EPC XSD:\n${err.stderr ?? err.message}`);
  }
  const text = await readFile(file, 'utf8');
  const doc = (parser.parse(text) as { Document: { CstmrCdtTrfInitn: Pain001Doc } }).Document.CstmrCdtTrfInitn;
  const transactions = doc.PmtInf.flatMap((p) => {
    const sum = p.CdtTrfTxInf.reduce((s, t) => s.plus(t.Amt.InstdAmt['#text']), new Decimal(0)).toFixed(2);
    if (sum !== new Decimal(p.CtrlSum).toFixed(2) || String(p.CdtTrfTxInf.length) !== p.NbOfTxs) {
      throw new Error(`pain.001 ${file}: PmtInf NbOfTxs ${p.NbOfTxs} / CtrlSum ${p.CtrlSum}, transactions ${p.CdtTrfTxInf.length} / ${sum}`);
    }
    return p.CdtTrfTxInf;
  });
  const total = transactions.reduce((s, t) => s.plus(t.Amt.InstdAmt['#text']), new Decimal(0)).toFixed(2);
  if (total !== new Decimal(doc.GrpHdr.CtrlSum).toFixed(2) || String(transactions.length) !== doc.GrpHdr.NbOfTxs) {
    throw new Error(`pain.001 ${file}: GrpHdr NbOfTxs ${doc.GrpHdr.NbOfTxs} / CtrlSum ${doc.GrpHdr.CtrlSum}, transactions ${transactions.length} / ${total}`);
  }
  return { doc, transactions, endToEndIds: transactions.map((t) => t.PmtId.EndToEndId), text };
}

/** Every pain.001 file (`*.xml`) under `dir`, recursively, each validated. */
export async function validPain001FilesUnder(dir: string): Promise<Map<string, ValidPain001>> {
  const found = new Map<string, ValidPain001>();
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true, recursive: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return found;
    throw e;
  }
  for (const entry of entries) {
    if (!entry.isFile() || !entry.name.endsWith('.xml') || entry.name.startsWith('.')) continue;
    const path = join(entry.parentPath, entry.name);
    found.set(path, await validPain001(path));
  }
  return found;
}
