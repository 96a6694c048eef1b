import { z } from 'zod';

/**
 * The shortener's click event: the redirect writes one per click to its log as a JSON line, and
 * a CloudWatch Logs subscription filter delivers them to the analytics consumer. Shared by the
 * functions (which write and read it) and the CDK app (which filters on it).
 */
export const CLICK_TYPE = 'switchyard.click';

/** The subscription filter that picks click lines out of the redirect function's log. */
export const CLICK_FILTER_PATTERN = `{ $._type = "${CLICK_TYPE}" }`;

export const ClickEventSchema = z.object({
  _type: z.literal(CLICK_TYPE),
  /** Unique per click: the idempotency key, so a line delivered twice counts once. */
  id: z.uuid(),
  code: z.string().min(1),
  tenantId: z.string().min(1),
  /** The link's `createdAt`: a click for a link deleted and, somehow, recreated must not count for the new one. */
  linkCreatedAt: z.string(),
  at: z.iso.datetime(),
  referrerHost: z.string().max(253).nullable(),
  country: z.string().regex(/^[A-Z]{2}$/).nullable(),
  agent: z.enum(['desktop', 'mobile', 'tablet', 'tv', 'bot', 'other']),
  bot: z.boolean(),
  correlationId: z.string().optional(),
});
export type ClickEvent = z.infer<typeof ClickEventSchema>;
