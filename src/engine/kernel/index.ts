/** The liquidation kernel: integer cents on the hot path, decimal.js for the rest (kernel.ts). */
export { LiquidationKernel, type KernelStats } from './kernel.js';
