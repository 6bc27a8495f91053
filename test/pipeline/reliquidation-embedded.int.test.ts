import { embeddedWorld } from './embedded-world.js';
import { defineReliquidationSuite } from './reliquidation-suite.js';

/** Re-liquidation on the embedded bus: one temporary NOEMIE_HOME per namespace. */
defineReliquidationSuite(embeddedWorld());
