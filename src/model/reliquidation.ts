import { z } from 'zod';
import { IsoDateSchema } from './dates.js';

/**
 * A re-liquidation request (contract s4 §3, issue 10): "re-decide this family's lines whose care
 * date is on or after `from`, and every line of the family left in review or rejected, against
 * the membership and reference data as they are now; publish only what changed, each new version
 * carrying the reason". Topic `reliquidations`, keyed by adhérent.
 */
export const ReliquidationRequestSchema = z
  .object({
    requestId: z.string().min(1),
    adherentId: z.string().min(1).max(20),
    from: IsoDateSchema,
    reason: z.object({ eventId: z.string().min(1), type: z.string().min(1), effectiveDate: IsoDateSchema }),
  })
  .meta({ title: 'Re-liquidation request', description: 'reliquidations topic value: re-decide a family\'s lines from a date, because of the change named in reason.' });
export type ReliquidationRequest = z.infer<typeof ReliquidationRequestSchema>;
