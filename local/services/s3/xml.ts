/**
 * S3's REST-XML wire format: response documents in S3's namespace and the few request bodies
 * S3 takes as XML (CompleteMultipartUpload, DeleteObjects, PutObjectTagging).
 */
import { XMLBuilder, XMLParser } from 'fast-xml-parser';
import { malformedXml } from './errors';

const NAMESPACE = 'http://s3.amazonaws.com/doc/2006-03-01/';

const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_' });

// Values stay strings (`0012` is a key, not a number) and keep their spaces (keys may start or
// end with one); elements that may repeat are always arrays, even when only one is sent.
const parser = new XMLParser({
  parseTagValue: false,
  trimValues: false,
  ignoreAttributes: true,
  ignoreDeclaration: true,
  isArray: (name) => name === 'Part' || name === 'Object' || name === 'Tag',
});

/** A response document: `<root xmlns="...">body</root>` after the XML declaration. */
export function toXml(root: string, body: Record<string, unknown>, namespaced = true): string {
  return builder.build({
    '?xml': { '@_version': '1.0', '@_encoding': 'UTF-8' },
    [root]: namespaced ? { '@_xmlns': NAMESPACE, ...body } : body,
  });
}

/**
 * Parses a request body and returns the children of its root element, which must be `root`.
 * @throws S3Error MalformedXML when the body is not such a document
 */
export function parseXmlBody(body: Buffer, root: string): Record<string, unknown> {
  let document: unknown;
  try {
    document = parser.parse(body.toString('utf8'), true);
  } catch {
    throw malformedXml();
  }
  const element = (document as Record<string, unknown> | undefined)?.[root];
  if (!element || typeof element !== 'object') throw malformedXml();
  return element as Record<string, unknown>;
}

/** The text of a child element, or undefined when it is absent or not text. */
export function textOf(element: unknown, name: string): string | undefined {
  const value = (element as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : undefined;
}

/** The repeated children `name` of an element (always an array, see the parser's `isArray`). */
export function listOf(element: unknown, name: string): readonly Record<string, unknown>[] {
  const value = (element as Record<string, unknown> | undefined)?.[name];
  return Array.isArray(value) ? (value as Record<string, unknown>[]) : [];
}
