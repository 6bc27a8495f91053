export { xmlCodec, createXmlCodec, DEFAULT_MAX_DECOMPTE_CHARS, type XmlCodecOptions } from './codec.js';
export { encodeXml } from './encode.js';
export { scanDecomptes, type ScanItem } from './scanner.js';
export { MAX_DECOMPTE_DEPTH } from './decompte.js';
