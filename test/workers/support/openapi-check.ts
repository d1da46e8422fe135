/**
 * A small structural check of an OpenAPI 3.1 document, enough to catch what generation from zod
 * can get wrong (dangling $refs, undeclared path parameters, operations without responses)
 * without a validator dependency. Returns the problems found; an empty list means it passed.
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
const ROLES = ['viewer', 'operator', 'admin'];

function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export interface OpenApiOperation {
  method: string;
  path: string;
  operation: JsonObject;
}

export function operationsOf(document: JsonObject): OpenApiOperation[] {
  const operations: OpenApiOperation[] = [];
  const paths = isObject(document.paths) ? document.paths : {};
  for (const [path, item] of Object.entries(paths)) {
    if (!isObject(item)) continue;
    for (const method of METHODS) {
      const operation = item[method];
      if (isObject(operation)) operations.push({ method, path, operation });
    }
  }
  return operations;
}

/** Resolves a local `#/components/...` reference, or undefined. */
export function resolveRef(document: JsonObject, ref: string): Json | undefined {
  if (!ref.startsWith('#/')) return undefined;
  let node: Json | undefined = document;
  for (const part of ref.slice(2).split('/')) {
    const key = part.replaceAll('~1', '/').replaceAll('~0', '~');
    node = isObject(node) ? node[key] : undefined;
  }
  return node;
}

export function checkOpenApiDocument(document: Json): string[] {
  const problems: string[] = [];
  if (!isObject(document)) return ['the document is not an object'];
  if (document.openapi !== '3.1.0')
    problems.push(`openapi is ${JSON.stringify(document.openapi)}, not 3.1.0`);
  const info = document.info;
  if (!isObject(info) || typeof info.title !== 'string' || typeof info.version !== 'string') {
    problems.push('info needs a title and a version');
  }
  if (!isObject(document.paths)) problems.push('paths is missing');
  const components = isObject(document.components) ? document.components : {};
  const schemes = isObject(components.securitySchemes) ? components.securitySchemes : {};

  // Every $ref anywhere resolves.
  const walk = (node: Json, where: string) => {
    if (Array.isArray(node)) {
      for (const [i, child] of node.entries()) walk(child, `${where}[${i}]`);
    } else if (isObject(node)) {
      for (const [key, child] of Object.entries(node)) {
        if (key === '$ref') {
          if (typeof child !== 'string' || resolveRef(document, child) === undefined) {
            problems.push(`${where}: $ref ${JSON.stringify(child)} does not resolve`);
          }
        } else walk(child, `${where}.${key}`);
      }
    }
  };
  walk(document, '$');

  const checkSecurity = (security: Json | undefined, where: string) => {
    if (security === undefined) return;
    if (!Array.isArray(security)) return problems.push(`${where}: security is not a list`);
    for (const requirement of security) {
      if (!isObject(requirement)) {
        problems.push(`${where}: a security requirement is not an object`);
        continue;
      }
      for (const name of Object.keys(requirement)) {
        if (!(name in schemes)) problems.push(`${where}: security scheme ${name} is not defined`);
      }
    }
  };
  checkSecurity(document.security, 'document');

  const operationIds = new Set<string>();
  for (const { method, path, operation } of operationsOf(document)) {
    const where = `${method.toUpperCase()} ${path}`;
    if (!path.startsWith('/')) problems.push(`${where}: the path does not start with /`);
    checkSecurity(operation.security, where);
    if (typeof operation.operationId === 'string') {
      if (operationIds.has(operation.operationId))
        problems.push(`${where}: duplicate operationId ${operation.operationId}`);
      operationIds.add(operation.operationId);
    }
    const isPublic = Array.isArray(operation.security) && operation.security.length === 0;
    if (!isPublic && !ROLES.includes(String(operation['x-required-role']))) {
      problems.push(
        `${where}: x-required-role is missing (use withRole() from functions/middleware/require-role.ts)`,
      );
    }

    // Path parameters: each {name} in the template declared once, required, with a schema.
    const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((match) => match[1] ?? '');
    const parameters = Array.isArray(operation.parameters) ? operation.parameters : [];
    const declared = parameters
      .map((parameter) =>
        isObject(parameter) && typeof parameter.$ref === 'string'
          ? resolveRef(document, parameter.$ref)
          : parameter,
      )
      .filter(isObject);
    for (const parameter of declared) {
      if (typeof parameter.name !== 'string' || typeof parameter.in !== 'string') {
        problems.push(`${where}: a parameter lacks name or in`);
        continue;
      }
      if (!['path', 'query', 'header', 'cookie'].includes(parameter.in))
        problems.push(`${where}: parameter ${parameter.name} in ${parameter.in}`);
      if (!isObject(parameter.schema)) problems.push(`${where}: parameter ${parameter.name} has no schema`);
      if (parameter.in === 'path') {
        if (!templated.includes(parameter.name))
          problems.push(`${where}: path parameter ${parameter.name} is not in the path`);
        if (parameter.required !== true)
          problems.push(`${where}: path parameter ${parameter.name} is not required`);
      }
    }
    for (const name of templated) {
      if (!declared.some((parameter) => parameter.in === 'path' && parameter.name === name)) {
        problems.push(`${where}: path parameter {${name}} is not declared`);
      }
    }

    if (operation.requestBody !== undefined) {
      const body = operation.requestBody;
      if (!isObject(body) || !isObject(body.content) || Object.keys(body.content).length === 0) {
        problems.push(`${where}: requestBody has no content`);
      } else {
        for (const [type, media] of Object.entries(body.content)) {
          if (!isObject(media) || !isObject(media.schema))
            problems.push(`${where}: requestBody ${type} has no schema`);
        }
      }
    }

    const responses = operation.responses;
    if (!isObject(responses) || Object.keys(responses).length === 0) {
      problems.push(`${where}: no responses`);
      continue;
    }
    if (!Object.keys(responses).some((status) => /^2\d\d$/.test(status)))
      problems.push(`${where}: no 2xx response`);
    for (const [status, response] of Object.entries(responses)) {
      if (!/^[1-5](\d\d|XX)$/.test(status) && status !== 'default')
        problems.push(`${where}: response key ${status}`);
      if (!isObject(response) || typeof response.description !== 'string') {
        problems.push(`${where}: response ${status} has no description`);
        continue;
      }
      if (isObject(response.content)) {
        for (const [type, media] of Object.entries(response.content)) {
          if (!isObject(media) || !isObject(media.schema))
            problems.push(`${where}: response ${status} ${type} has no schema`);
        }
      }
      // 4xx always has the one error shape; a 5xx may not (health's 503 says which check failed).
      if (/^4/.test(status)) {
        const schema = isObject(response.content) ? response.content['application/json'] : undefined;
        if (
          !isObject(schema) ||
          !isObject(schema.schema) ||
          schema.schema.$ref !== '#/components/schemas/Error'
        ) {
          problems.push(`${where}: error response ${status} is not the Error schema`);
        }
      }
    }
  }
  return problems;
}
