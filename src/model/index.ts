export * from './money.js';
export * from './dates.js';
export * from './issues.js';
export * from './act-line.js';
export * from './invoice.js';
export * from './reference.js';
export * from './settlement.js';
export * from './errors.js';
