import { embeddedWorld } from './embedded-world.js';
import { defineLiquidationSuite } from './liquidation-suite.js';

/** The liquidation pipeline on the embedded bus: one temporary NOEMIE_HOME per namespace. */
defineLiquidationSuite(embeddedWorld());
