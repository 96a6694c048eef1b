import { z } from 'zod';
import { PolicyNameSchema, PolicySetSchema } from '#shared/rate-limit/policy';

/**
 * Stage configuration: everything that differs between `dev` and `prod` lives in
 * `cdk.json` under `context.stages.<stage>` and is validated here, once, at synth.
 * A bad value fails `cdk synth` with its path, never a half-built stack.
 */

const ClaimsSchema = z.object({
  /** Claim holding the user id. @default 'sub' */
  user: z.string().min(1).default('sub'),
  /** Claim holding the tenant id (Cognito custom attributes look like `custom:tenant`). */
  tenant: z.string().min(1).default('tenant'),
  /** Claim holding the scopes: a space-separated string (OAuth `scope`) or an array (`scp`). */
  scopes: z.string().min(1).default('scope'),
});

const SecretAuthSchema = z.object({
  /** HS256 tokens signed with a secret that CDK generates into Secrets Manager. Non-production only. */
  mode: z.literal('secret'),
  issuer: z.string().min(1),
  audience: z.string().min(1),
  claims: ClaimsSchema.prefault({}),
});

const JwksAuthSchema = z.object({
  /** Asymmetric tokens (RS*, PS*, ES*, EdDSA) verified against an OIDC provider's JWKS. */
  mode: z.literal('jwks'),
  /** Left out, it becomes a deploy-time CloudFormation parameter that `cdk deploy` insists on. */
  jwksUrl: z.url({ protocol: /^https$/ }).optional(),
  issuer: z.string().min(1).optional(),
  audience: z.string().min(1).optional(),
  claims: ClaimsSchema.prefault({}),
});

const KEY_SUBJECT_MESSAGE = 'names a policy with subject "key": those belong to the rate-limit service, not to routes or messages';

/** Short names that become part of resource names. */
const ResourceNameSchema = z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, 'lower-case letters, digits and dashes, at most 32');

const UsagePlanSchema = z.object({
  description: z.string().optional(),
  /** Steady rate and burst per API key, in requests per second. */
  throttle: z.object({ rateLimit: z.number().positive(), burstLimit: z.number().int().positive() }).optional(),
  /** Requests per key per period (UTC-aligned days, weeks or months). */
  quota: z.object({ limit: z.number().int().positive(), period: z.enum(['DAY', 'WEEK', 'MONTH']) }).optional(),
  /** Keys to create in this plan; production usually issues them per customer instead. */
  apiKeys: z.array(ResourceNameSchema).default([]),
});

/** CloudWatch Logs accepts only these retention periods. */
const RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653] as const;

export const StageConfigSchema = z
  .object({
    /** A production stage refuses shared-secret auth and keeps its data. */
    production: z.boolean(),
    /** What happens to stateful resources when their stack is deleted. */
    removalPolicy: z.enum(['destroy', 'retain']),
    logRetentionDays: z
      .number()
      .int()
      .refine((d) => (RETENTION_DAYS as readonly number[]).includes(d), {
        message: `must be one of ${RETENTION_DAYS.join(', ')}`,
      }),
    pointInTimeRecovery: z.boolean(),
    /** Subscribed to the alarm topic when set. */
    alarmEmail: z.email().optional(),
    /** Origins allowed by CORS; `*` allows any (never with credentials). */
    corsOrigins: z.array(z.union([z.literal('*'), z.url()])).min(1),
    api: z.object({
      throttle: z.object({
        rateLimit: z.number().positive(),
        burstLimit: z.number().int().positive(),
      }),
      /** Largest JSON body a route accepts unless it says otherwise (API Gateway's own cap is 10 MB). */
      maxBodyBytes: z.number().int().positive().max(10 * 1024 * 1024),
      /**
       * Usage plans, by name: they meter and throttle API keys at the edge, on the routes whose
       * contract says `apiKey: true`. Each key named here is created with a generated value.
       */
      usagePlans: z.record(ResourceNameSchema, UsagePlanSchema).default({}),
    }),
    auth: z.discriminatedUnion('mode', [SecretAuthSchema, JwksAuthSchema]),
    rateLimits: z
      .object({
        /** DynamoDB's time budget per policy; past it a policy fails open or closed. */
        timeoutMs: z.number().int().positive().max(5000),
        policies: PolicySetSchema,
        /** Policies every route gets after its own, tightest first. */
        defaults: z.array(PolicyNameSchema),
        /** Policies every WebSocket message gets (per connection, per user), tightest first. */
        webSocketDefaults: z.array(PolicyNameSchema),
      })
      .refine((r) => r.defaults.every((name) => name in r.policies), { path: ['defaults'], message: 'names a policy that is not defined' })
      .refine((r) => r.webSocketDefaults.every((name) => name in r.policies), { path: ['webSocketDefaults'], message: 'names a policy that is not defined' })
      .refine((r) => r.defaults.every((name) => r.policies[name]?.subject !== 'key'), { path: ['defaults'], message: KEY_SUBJECT_MESSAGE })
      .refine((r) => r.webSocketDefaults.every((name) => r.policies[name]?.subject !== 'key'), { path: ['webSocketDefaults'], message: KEY_SUBJECT_MESSAGE }),
    shortener: z
      .object({
        /** Short links are built on it (a custom domain mapped to the API); default: the API's own URL. */
        baseUrl: z.url({ protocol: /^https?$/ }).optional(),
        /** Target domains refused, with their subdomains. */
        denyDomains: z.array(z.string().regex(/^[a-z0-9.-]+$/, 'a lower-case domain name')).default([]),
        /** How long a function instance serves a link from memory; a change takes up to this long to reach every instance. */
        cacheTtlSeconds: z.number().int().min(0).max(300).default(10),
        /** How long an unknown code is answered 404 from memory. */
        negativeCacheTtlSeconds: z.number().int().min(0).max(60).default(5),
        /** Click analytics: off, the redirect writes no click line (a privacy switch; stats stop growing). */
        clickAnalytics: z.boolean().default(true),
        /** `Cache-Control: max-age` of a 301 (browsers keep permanent redirects). */
        permanentRedirectMaxAgeSeconds: z.number().int().min(0).max(31_536_000).default(86_400),
      })
      .prefault({}),
    chat: z
      .object({
        /** Members a conversation may hold, its creator included. */
        maxGroupSize: z.number().int().min(2).max(10_000).default(100),
        /** A user is online while their last heartbeat (`ping`) is younger than this. */
        presenceWindowSeconds: z.number().int().min(5).max(3600).default(60),
        /** Conversations with more members fan out through the FIFO queue instead of inline. */
        queueFanoutAboveMembers: z.number().int().min(1).default(20),
      })
      .prefault({}),
    jobs: z
      .object({
        /** The longest attempt a job may ask for (`timeoutSeconds`); it sets the workers' timeout and the lanes' visibility timeout (6× the worker's). */
        maxTimeoutSeconds: z.number().int().min(1).max(840).default(60),
        /** Concurrent batches per lane (the event source mapping's maximum concurrency): lanes never share workers. */
        laneConcurrency: z
          .object({ high: z.number().int().min(2).max(1000), normal: z.number().int().min(2).max(1000), low: z.number().int().min(2).max(1000) })
          .default({ high: 10, normal: 5, low: 2 }),
        /** Jobs a worker takes per batch (run one after another); with `maxTimeoutSeconds` it sets the worker's timeout. */
        batchSize: z.number().int().min(1).max(10).default(5),
        /** Registers `test.*` job types (never in production). */
        testTypes: z.boolean().default(false),
        /** Hosts (`host` or `host:port`) webhooks may reach over plain http and at private addresses: development receivers only. */
        webhookAllowHosts: z.array(z.string().regex(/^[A-Za-z0-9.-]+(:\d{1,5})?$/, 'a host or host:port')).default([]),
      })
      .prefault({})
      .refine((jobs) => jobs.batchSize * jobs.maxTimeoutSeconds + 15 <= 900, {
        message: 'batchSize × maxTimeoutSeconds (plus 15 s) must fit the 900 s a Lambda function may run',
      }),
    alarms: z.object({
      errorRatePercent: z.number().positive().max(100),
      p99LatencyMs: z.number().int().positive(),
      oldestMessageAgeSeconds: z.number().int().positive(),
    }),
  })
  .refine((c) => new Set(Object.values(c.api.usagePlans).flatMap((p) => p.apiKeys)).size === Object.values(c.api.usagePlans).flatMap((p) => p.apiKeys).length, {
    path: ['api', 'usagePlans'],
    message: 'an API key may be named in one usage plan only',
  })
  .refine((c) => !(c.production && c.auth.mode === 'secret'), {
    path: ['auth', 'mode'],
    message: 'a production stage must verify tokens against a JWKS, not a shared secret',
  })
  .refine((c) => !(c.production && c.jobs.testTypes), {
    path: ['jobs', 'testTypes'],
    message: 'a production stage must not run test job types',
  })
  .refine((c) => !(c.production && c.jobs.webhookAllowHosts.length > 0), {
    path: ['jobs', 'webhookAllowHosts'],
    message: 'a production stage must not let webhooks reach private or plain-http hosts',
  })
  .refine((c) => !(c.production && c.removalPolicy === 'destroy'), {
    path: ['removalPolicy'],
    message: 'a production stage must retain its data',
  });

export type StageConfig = z.infer<typeof StageConfigSchema>;
export type AuthConfig = StageConfig['auth'];

/** Stage names are part of resource and stack names, so they stay short and DNS-safe. */
export const StageNameSchema = z.string().regex(/^[a-z][a-z0-9-]{1,15}$/, 'lower-case letters, digits and dashes, 2 to 16 characters');

/**
 * Reads and validates one stage's configuration from the CDK context.
 * @param stages the `stages` context object (from cdk.json)
 * @param stage the stage name, from `-c stage=...`
 */
export function loadStageConfig(stages: unknown, stage: string): StageConfig {
  StageNameSchema.parse(stage);
  const all = z.record(z.string(), z.unknown()).parse(stages ?? {});
  if (!(stage in all)) {
    throw new Error(`Unknown stage "${stage}": cdk.json context.stages defines ${Object.keys(all).join(', ') || 'none'}`);
  }
  const parsed = StageConfigSchema.safeParse(all[stage]);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `  stages.${stage}.${i.path.join('.')}: ${i.message}`).join('\n');
    throw new Error(`Invalid configuration for stage "${stage}":\n${problems}`);
  }
  return parsed.data;
}
