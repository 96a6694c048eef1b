import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { tracer } from '../powertools';

export const eventBridgeClient = tracer.captureAWSv3Client(new EventBridgeClient({}));
