import { ENTITY_CODES, ENTITY_CODE_LENGTH, LAYOUT, RECORD_LENGTH, TERMINATOR, type EntityCode, type FieldSpec } from './layout.js';

/**
 * The layout as the documents show it: rows of the tables in schemas/noemie-layout.md and the
 * JSON Schema in schemas/noemie-records.schema.json. Both files are held to these functions by
 * test/ingest/noemie-layout.int.test.ts (fastify habit: docs and code cannot drift apart).
 */

export function formatOf(spec: FieldSpec): string {
  const format = baseFormatOf(spec);
  return spec.optional ? `${format}; optional: the record may end before it` : format;
}

function baseFormatOf(spec: FieldSpec): string {
  const blank = spec.nullable ? ' or spaces' : '';
  switch (spec.kind) {
    case 'text':
      return `X(${spec.length}) text, left-justified`;
    case 'code':
      return `X(${spec.length})${blank}`;
    case 'int':
      return `9(${spec.length})`;
    case 'date':
      return `YYYYMMDD${blank}`;
    case 'amount':
      return `9(${spec.length - 1}) cents + sign P/N`;
    case 'decimal': {
      const scale = spec.scale ?? 0;
      return `9(${spec.length - scale})V9(${scale})`;
    }
    case 'flag':
      return 'Y/N';
    case 'enum':
      return `${(spec.values ?? []).join('/')}${spec.nullable ? ' or space' : ''}`;
    default: {
      const unreachable: never = spec.kind;
      return unreachable;
    }
  }
}

/** Table rows: field, start, length, format, ActLine field ("—" when none). */
export function layoutRows(code: EntityCode): string[][] {
  const e = LAYOUT[code];
  return [
    ['entity', '1', String(ENTITY_CODE_LENGTH), `"${code}"`, '—'],
    ...e.fields.map((f) => [f.name, String(f.start), String(f.length), formatOf(f), f.actLine ?? '—']),
    ['terminator', e.shortTerminatorAt === e.terminatorAt ? String(e.terminatorAt) : `${e.terminatorAt} (${e.shortTerminatorAt} without ${optionalNames(code)})`, '1', `"${TERMINATOR}"`, '—'],
    ['padding', String(e.terminatorAt + 1), String(RECORD_LENGTH - e.terminatorAt), 'spaces', '—'],
  ];
}

function optionalNames(code: EntityCode): string {
  return LAYOUT[code].fields.filter((f) => f.optional).map((f) => f.name).join(', ');
}

function patternOf(spec: FieldSpec): string {
  const n = spec.length;
  switch (spec.kind) {
    case 'text':
    case 'code':
      return `^[\\u0020-\\u007E\\u00A0-\\u00FF]{${n}}$`;
    case 'int':
    case 'decimal':
      return `^\\d{${n}}$`;
    case 'date':
      return spec.nullable ? '^(\\d{8}| {8})$' : '^\\d{8}$';
    case 'amount':
      return `^\\d{${n - 1}}[PN]$`;
    case 'flag':
      return '^[YN]$';
    case 'enum':
      return `^(${[...(spec.values ?? []), ...(spec.nullable ? [' '.repeat(n)] : [])].join('|')})$`;
    default: {
      const unreachable: never = spec.kind;
      return unreachable;
    }
  }
}

/**
 * JSON Schema of one record cut into its raw (padded) field texts, keyed by field name; every
 * property carries its place in the record (`x-start` 1-based, `x-length`, `x-format`).
 */
export function layoutJsonSchema(): Record<string, unknown> {
  const defs = Object.fromEntries(
    ENTITY_CODES.map((code) => {
      const e = LAYOUT[code];
      const fields = Object.fromEntries(
        e.fields.map((f) => [
          f.name,
          {
            description: f.description,
            type: 'string',
            pattern: patternOf(f),
            'x-start': f.start,
            'x-length': f.length,
            'x-format': formatOf(f),
            ...(f.kind === 'decimal' ? { 'x-impliedDecimals': f.scale ?? 0 } : {}),
            ...(f.actLine ? { 'x-actLineField': f.actLine } : {}),
            ...(f.optional ? { 'x-optional': 'the record may end before this field, its terminator at x-shortTerminatorAt' } : {}),
          },
        ]),
      );
      return [
        `entity${code}`,
        {
          title: `${code} ${e.name}`,
          description: e.description,
          type: 'object',
          'x-terminatorAt': e.terminatorAt,
          ...(e.shortTerminatorAt !== e.terminatorAt ? { 'x-shortTerminatorAt': e.shortTerminatorAt } : {}),
          properties: { entity: { const: code, 'x-start': 1, 'x-length': ENTITY_CODE_LENGTH }, ...fields },
          required: ['entity', ...e.fields.filter((f) => !f.optional).map((f) => f.name)],
          additionalProperties: false,
        },
      ];
    }),
  );
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'noemie-records.schema.json',
    title: 'NOEMIE-style fixed-length record',
    description:
      'GENERATED from src/ingest/noemie/layout.ts, do not edit (test/ingest/noemie-layout.int.test.ts compares). ' +
      'One record of a *.noemie file cut into its raw field texts, keyed by field name. NOEMIE-style: built from the ' +
      'public NOEMIE PS layout, not the (non-public) RO→AMC specification. See schemas/noemie-layout.md.',
    'x-encoding': 'ISO-8859-1',
    'x-recordLength': RECORD_LENGTH,
    'x-recordSeparator': '\\n (\\r\\n accepted)',
    'x-terminator': TERMINATOR,
    'x-entityOrder': '000 (100 (103|120|255)* 990)* 999; a 255 needs a 103 and a 120 before it in its décompte',
    oneOf: ENTITY_CODES.map((code) => ({ $ref: `#/$defs/entity${code}` })),
    $defs: defs,
  };
}

export function layoutJsonText(): string {
  return `${JSON.stringify(layoutJsonSchema(), null, 2)}\n`;
}
