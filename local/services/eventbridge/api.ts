/**
 * The wire side of the local EventBridge: request schemas (the members it reads; others are
 * ignored, as AWS ignores unknown members), response shapes, and errors as the AWS JSON 1.1
 * protocol carries them (`{ "__type": ..., "message": ... }`).
 */
import { z } from 'zod';
import type { EventTargetModel } from '../../model';

/** An error the API returns: `{ "__type": type, "message": message }` with `status`. */
export class EventsApiError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = 'EventsApiError';
  }
}

/**
 * Checks a request body against its schema.
 * @throws EventsApiError ValidationException listing what is wrong
 */
export function parseRequest<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `Value at '${issue.path.join('.')}' failed to satisfy constraint: ${issue.message}`);
  throw new EventsApiError('ValidationException', `${problems.length} validation error${problems.length === 1 ? '' : 's'} detected: ${problems.join('; ')}`);
}

const Name = z.string().min(1).max(64).regex(/^[.\-_A-Za-z0-9]+$/, 'Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+');
const BusRef = z.string().min(1).max(1600);
const Page = { NextToken: z.string().optional(), Limit: z.number().int().min(1).max(100).optional() };

export const PutEventsEntry = z.object({
  Source: z.string().optional(),
  DetailType: z.string().optional(),
  Detail: z.string().optional(),
  EventBusName: BusRef.optional(),
  Resources: z.array(z.string()).optional(),
  Time: z.union([z.number(), z.string()]).optional(),
});
export const PutEventsRequest = z.object({ Entries: z.array(PutEventsEntry) });
export const DescribeEventBusRequest = z.object({ Name: BusRef.optional() });
export const ListEventBusesRequest = z.object({ NamePrefix: z.string().optional(), ...Page });
export const ListRulesRequest = z.object({ NamePrefix: z.string().optional(), EventBusName: BusRef.optional(), ...Page });
export const RuleRequest = z.object({ Name, EventBusName: BusRef.optional() });
export const ListTargetsByRuleRequest = z.object({ Rule: Name, EventBusName: BusRef.optional(), ...Page });
export const PutRuleRequest = z.object({
  Name,
  EventPattern: z.string().optional(),
  ScheduleExpression: z.string().max(256).optional(),
  State: z.enum(['ENABLED', 'DISABLED']).optional(),
  Description: z.string().max(512).optional(),
  EventBusName: BusRef.optional(),
});
export const ApiTarget = z.object({
  Id: Name,
  Arn: z.string().min(1).max(1600),
  Input: z.string().optional(),
  InputPath: z.string().optional(),
  InputTransformer: z.object({ InputPathsMap: z.record(z.string(), z.string()).optional(), InputTemplate: z.string().min(1) }).optional(),
  SqsParameters: z.object({ MessageGroupId: z.string().optional() }).optional(),
  DeadLetterConfig: z.object({ Arn: z.string().optional() }).optional(),
  RetryPolicy: z
    .object({ MaximumRetryAttempts: z.number().int().min(0).max(185).optional(), MaximumEventAgeInSeconds: z.number().int().min(60).max(86_400).optional() })
    .optional(),
});
export const PutTargetsRequest = z.object({ Rule: Name, EventBusName: BusRef.optional(), Targets: z.array(ApiTarget).min(1).max(100) });
export const RemoveTargetsRequest = z.object({ Rule: Name, EventBusName: BusRef.optional(), Ids: z.array(z.string()).min(1).max(100) });

export type PutEventsEntry = z.infer<typeof PutEventsEntry>;
export type ApiTarget = z.infer<typeof ApiTarget>;

/** What ruleShape needs of a rule. */
export interface RuleView {
  readonly name: string;
  readonly arn: string;
  readonly busName: string;
  readonly state: 'ENABLED' | 'DISABLED';
  readonly description?: string | undefined;
  readonly eventPattern?: unknown;
  readonly scheduleExpression?: string | undefined;
}

/** The JSON 1.1 protocol sends timestamps as epoch seconds; an ISO string is taken too. */
export function parseTime(time: number | string): Date | undefined {
  const ms = typeof time === 'number' ? time * 1000 : Date.parse(time);
  return Number.isFinite(ms) ? new Date(ms) : undefined;
}

/** An entry's size as AWS counts it toward the 256 KB limit. */
export function entrySize(entry: PutEventsEntry): number {
  const bytes = (text: string | undefined) => (text === undefined ? 0 : Buffer.byteLength(text, 'utf8'));
  return (
    (entry.Time === undefined ? 0 : 14) +
    bytes(entry.Source) +
    bytes(entry.DetailType) +
    bytes(entry.Detail) +
    (entry.Resources ?? []).reduce((total, resource) => total + bytes(resource), 0)
  );
}

/** One page of a list, with AWS's `NextToken` (here, the offset of the next item). */
export function paginate<T>(key: string, items: readonly T[], request: { readonly NextToken?: string | undefined; readonly Limit?: number | undefined }): unknown {
  const start = request.NextToken === undefined ? 0 : Number(request.NextToken);
  if (!Number.isInteger(start) || start < 0 || start > items.length) {
    throw new EventsApiError('ValidationException', 'The NextToken provided is not valid.');
  }
  const end = request.Limit === undefined ? items.length : Math.min(items.length, start + request.Limit);
  return { [key]: items.slice(start, end), ...(end < items.length ? { NextToken: String(end) } : {}) };
}

/** Drops keys whose value is undefined, so response bodies carry only what is set. */
function compact<T extends Record<string, unknown>>(object: T): Partial<T> {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined)) as Partial<T>;
}

/** A rule as ListRules and DescribeRule show it. */
export function ruleShape(rule: RuleView): Record<string, unknown> {
  return compact({
    Name: rule.name,
    Arn: rule.arn,
    EventPattern: rule.eventPattern === undefined ? undefined : JSON.stringify(rule.eventPattern),
    ScheduleExpression: rule.scheduleExpression,
    State: rule.state,
    Description: rule.description,
    EventBusName: rule.busName,
  });
}

/** A target as ListTargetsByRule shows it. */
export function targetShape(target: EventTargetModel): unknown {
  const transformer = target.inputTransformer;
  return compact({
    Id: target.id,
    Arn: target.arn,
    Input: target.input,
    InputPath: target.inputPath,
    InputTransformer: transformer && compact({ InputPathsMap: transformer.inputPathsMap, InputTemplate: transformer.inputTemplate }),
    SqsParameters: target.messageGroupId === undefined ? undefined : { MessageGroupId: target.messageGroupId },
    DeadLetterConfig: target.deadLetterArn === undefined ? undefined : { Arn: target.deadLetterArn },
    RetryPolicy:
      target.maximumRetryAttempts === undefined && target.maximumEventAgeSeconds === undefined
        ? undefined
        : compact({ MaximumRetryAttempts: target.maximumRetryAttempts, MaximumEventAgeInSeconds: target.maximumEventAgeSeconds }),
  });
}

/** A PutTargets target, in the model's terms. */
export function targetModel(target: ApiTarget): EventTargetModel {
  return compact({
    id: target.Id,
    arn: target.Arn,
    input: target.Input,
    inputPath: target.InputPath,
    inputTransformer: target.InputTransformer && compact({ inputPathsMap: target.InputTransformer.InputPathsMap, inputTemplate: target.InputTransformer.InputTemplate }),
    messageGroupId: target.SqsParameters?.MessageGroupId,
    deadLetterArn: target.DeadLetterConfig?.Arn,
    maximumRetryAttempts: target.RetryPolicy?.MaximumRetryAttempts,
    maximumEventAgeSeconds: target.RetryPolicy?.MaximumEventAgeInSeconds,
  }) as EventTargetModel;
}
