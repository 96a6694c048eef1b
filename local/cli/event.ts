/**
 * `npm run event -- <apigw|ws|sqs|eventbridge|s3|schedule> [options]`: prints a sample event
 * filled in from the synthesized template, ready for `npm run invoke -- <function> --event -`.
 */
import { parseArgs } from 'node:util';
import { loadModel } from './assembly';
import { sampleEvent, type EventKind } from './events';

const KINDS: readonly EventKind[] = ['apigw', 'ws', 'sqs', 'eventbridge', 's3', 'schedule'];

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    path: { type: 'string' },
    method: { type: 'string' },
    body: { type: 'string' },
    header: { type: 'string', multiple: true },
    route: { type: 'string' },
    queue: { type: 'string' },
    bucket: { type: 'string' },
    rule: { type: 'string' },
    key: { type: 'string' },
    source: { type: 'string' },
    'detail-type': { type: 'string' },
    shape: { type: 'string' },
    synth: { type: 'boolean', default: false },
    assembly: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

const kind = positionals[0] as EventKind | undefined;
if (values.help || !kind || !KINDS.includes(kind)) {
  process.stderr.write(`Usage: npm run -s event -- <${KINDS.join('|')}> [options]

  apigw        --path /v1/me [--method GET] [--body '{...}'] [--header 'Authorization: Bearer ...']
  ws           --route <$connect|$default|action> [--body '{"action":"send"}']
  sqs          --queue <name or logical id> [--body '{...}']
  eventbridge  --source switchyard.links --detail-type 'Link Clicked' [--body '<detail JSON>']
  s3           --bucket <name or logical id> --key uploads/a.png [--shape eventbridge|notification]
  schedule     --rule <name or logical id>

Reads .local/cdk.out (synthesized if missing; --synth forces it).
`);
  process.exit(values.help ? 0 : 2);
}

try {
  const model = loadModel({ synth: values.synth, ...(values.assembly ? { assemblyDir: values.assembly } : {}) });
  const headers = Object.fromEntries((values.header ?? []).map((h) => [h.slice(0, h.indexOf(':')).trim(), h.slice(h.indexOf(':') + 1).trim()]));
  const resource = values.queue ?? values.bucket ?? values.rule;
  const event = sampleEvent(model, kind, {
    ...(values.path ? { path: values.path } : {}),
    ...(values.method ? { method: values.method } : {}),
    ...(values.body ? { body: values.body } : {}),
    ...(values.route ? { route: values.route } : {}),
    ...(resource ? { resource } : {}),
    ...(values.key ? { key: values.key } : {}),
    ...(values.source ? { source: values.source } : {}),
    ...(values['detail-type'] ? { detailType: values['detail-type'] } : {}),
    ...(values.shape === 'notification' || values.shape === 'eventbridge' ? { shape: values.shape } : {}),
    headers,
  });
  process.stdout.write(`${JSON.stringify(event, null, 2)}\n`);
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exit(1);
}
