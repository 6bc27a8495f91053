export { csvCodec, createCsvCodec, decodeCsvRow, DEFAULT_MAX_CSV_LINE_BYTES, type CsvCodecOptions } from './codec.js';
export { encodeCsv } from './encode.js';
export { frameLines, splitFields, type FramedLine } from './lines.js';
export { readHeader, type Header, type HeaderSpec } from './header.js';
