/** NOEMIE-style fixed-length décompte files (formats.md §1a): codec, encoder, layout. */
export { noemieCodec } from './decode.js';
export { encodeNoemie, formatRecord, type NoemieFileMeta } from './encode.js';
export { NoemieEncodeError, type NoemieEncodeErrorCode } from './errors.js';
export { LAYOUT, RECORD_LENGTH, TERMINATOR, ENTITY_CODES, fieldSpec, type EntityCode, type EntityLayout, type FieldSpec, type FieldKind } from './layout.js';
export { readRecords, readNoemieHeader, rawField, type NoemieRecord, type NoemieHeader } from './records.js';
