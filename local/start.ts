/**
 * `npm start`: the local cloud. Until it lands (issue 3), this says exactly what it will do
 * and exits non-zero, so nobody mistakes it for a running stack.
 */
const plan = `Switchyard local cloud: not built yet (issue 3).

When it lands, \`npm start\` will, on this machine and without Docker:
  1. synthesize the CDK app (cdk.out) for the dev stage;
  2. start DynamoDB Local (Java 17), an S3 emulator that checks presigned signatures,
     an SQS emulator with FIFO groups, dedup and DLQ redrive, and its own EventBridge,
     API Gateway REST and WebSocket, and Lambda runtimes;
  3. create the template's tables, buckets, queues, bus, rules and routes;
  4. print the REST URL, the WebSocket URL, the AWS endpoint for SDK and CLI use,
     and a development token.

What works today:
  npm test                       unit and infrastructure tests, cdk-nag, bundling
  npx cdk synth                  the dev stage; add -c stage=prod for production
  npm run token -- --help        mint development tokens for a deployed dev stage
`;

process.stderr.write(plan);
process.exit(1);
