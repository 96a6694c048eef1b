import type { RestMethodModel, RestResourceModel } from '../../model';

/** A request matched to a resource and one of its methods. */
export interface RouteMatch {
  readonly resource: RestResourceModel;
  readonly method: RestMethodModel;
  /** Decoded values of the path's `{name}` and `{name+}` variables; null when it has none. */
  readonly pathParameters: Readonly<Record<string, string>> | null;
}

interface Node {
  resource?: RestResourceModel;
  readonly literals: Map<string, Node>;
  readonly variables: { name: string; node: Node }[];
  readonly greedy: { name: string; node: Node }[];
}

const newNode = (): Node => ({ literals: new Map(), variables: [], greedy: [] });

/**
 * Routes requests the way API Gateway REST APIs do, from the API's resource tree:
 * - at each level a literal segment beats a `{variable}`, which beats a greedy `{proxy+}`
 *   (one or more remaining segments); a branch that leads nowhere is left for the next;
 * - the method is the resource's own one for the request's method, else its `ANY`;
 * - a resource without that method does not fall back to another resource, as on AWS.
 */
export class RestRouter {
  private readonly root = newNode();

  constructor(resources: readonly RestResourceModel[]) {
    for (const resource of resources) this.add(resource);
  }

  /**
   * The resource and method for a request, or undefined (API Gateway then answers with its
   * `MISSING_AUTHENTICATION_TOKEN` response).
   * @param rawPath the path after the stage, still percent-encoded, starting with `/`
   */
  match(httpMethod: string, rawPath: string): RouteMatch | undefined {
    const segments = rawPath.split('/').filter(Boolean).map(decodeSegment);
    const found = this.walk(this.root, segments, 0, {});
    if (!found) return undefined;
    const method =
      found.resource.methods.find((m) => m.httpMethod === httpMethod) ?? found.resource.methods.find((m) => m.httpMethod === 'ANY');
    if (!method) return undefined;
    const names = Object.keys(found.parameters);
    return { resource: found.resource, method, pathParameters: names.length ? found.parameters : null };
  }

  private add(resource: RestResourceModel): void {
    let node = this.root;
    for (const part of resource.path.split('/').filter(Boolean)) {
      const variable = /^\{([^}]+)\}$/.exec(part)?.[1];
      if (!variable) {
        const next = node.literals.get(part) ?? newNode();
        node.literals.set(part, next);
        node = next;
        continue;
      }
      const greedy = variable.endsWith('+');
      const name = greedy ? variable.slice(0, -1) : variable;
      const list = greedy ? node.greedy : node.variables;
      let entry = list.find((e) => e.name === name);
      if (!entry) {
        entry = { name, node: newNode() };
        list.push(entry);
      }
      node = entry.node;
    }
    node.resource = resource;
  }

  private walk(
    node: Node,
    segments: readonly string[],
    index: number,
    parameters: Record<string, string>,
  ): { resource: RestResourceModel; parameters: Record<string, string> } | undefined {
    if (index === segments.length) return node.resource ? { resource: node.resource, parameters } : undefined;
    const segment = segments[index]!;
    const literal = node.literals.get(segment);
    const viaLiteral = literal && this.walk(literal, segments, index + 1, parameters);
    if (viaLiteral) return viaLiteral;
    for (const { name, node: child } of node.variables) {
      const viaVariable = this.walk(child, segments, index + 1, { ...parameters, [name]: segment });
      if (viaVariable) return viaVariable;
    }
    // A greedy variable is always the last part of a resource path: it takes everything left.
    const greedy = node.greedy.find((g) => g.node.resource);
    return greedy && { resource: greedy.node.resource!, parameters: { ...parameters, [greedy.name]: segments.slice(index).join('/') } };
  }
}

/** Percent-decodes one path segment; a malformed escape is kept as sent rather than failing the request. */
function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
