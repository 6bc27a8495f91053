/** Public surface of the ingest stage: read a drop into validated act lines, and the encoders. */
export * from './types.js';
export { readDrop, CODECS, type ReadDropOptions, type CodecFormat } from './drop.js';
export { extensionOf, formatOfHead, type Extension } from './sniff.js';
export { csvCodec, createCsvCodec, encodeCsv, type CsvCodecOptions } from './csv/index.js';
export { xmlCodec, createXmlCodec, encodeXml, type XmlCodecOptions } from './xml/index.js';
export { invoiceJsonCodec, invoiceCsvCodec, createInvoiceJsonCodec, toActLines } from './invoice/index.js';
export { noemieCodec, encodeNoemie, type NoemieFileMeta } from './noemie/index.js';
export { readZipEntries, type ZipItem } from './zip/index.js';
