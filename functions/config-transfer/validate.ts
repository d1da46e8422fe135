import type { ZodError } from 'zod';
import type { ConnectionSecretField } from '../../core/crypto/reseal-connections';
import type { KeyRing } from '../../core/crypto/sealed-secrets';
import type { ValidationIssue } from '../app';
import { HttpError } from '../http-error';
import type { ConnectionRow } from '../queries/connections';
import type { PlainFields } from '../schemas/connections';
import type { SupervisorConfigInput } from '../schemas/supervisor-configs';
import { ConnectionEntrySchema, type ImportDocument, SupervisorEntrySchema } from './document';
import { openFromDocument } from './secrets';

/**
 * Checks a whole import document before anything is written: every entry against the create
 * bodies' schemas, names unique, each supervisor's connection in the document or the database, a
 * connection's kind as in the database, a new Postgres connection with its URL, every sealed
 * secret opening. Every problem is collected with its JSON path, so one answer lists them all.
 */

export interface PlannedConnection {
  plain: PlainFields;
  field: ConnectionSecretField;
  /** The secret in clear (opened from the document), or undefined: keep the existing one. */
  secret: string | undefined;
}

export interface ImportPlan {
  connections: PlannedConnection[];
  supervisors: SupervisorConfigInput[];
  /** The keys the secrets opened with (they seal them again); null when the document holds none. */
  ring: KeyRing | null;
}

type Path = (string | number)[];

// One answer stays readable (and small) whatever a hostile document holds; the count says how many more.
const MAX_LISTED_PROBLEMS = 200;

class Problems {
  readonly list: ValidationIssue[] = [];

  add(path: Path, message: string, code = 'custom'): void {
    this.list.push({ location: 'json', path, code, message });
  }

  addZod(prefix: Path, error: ZodError): void {
    for (const issue of error.issues) {
      const path = issue.path.map((key) => (typeof key === 'number' ? key : String(key)));
      this.add([...prefix, ...path], issue.message, issue.code);
    }
  }

  /** 400 listing the problems by path (the values themselves are not echoed). */
  toError(): HttpError {
    const shown = this.list.slice(0, MAX_LISTED_PROBLEMS);
    const summary = shown
      .slice(0, 3)
      .map((issue) => `${issue.path.join('.')}: ${issue.message}`)
      .join('; ');
    const more = this.list.length > 3 ? ` (and ${this.list.length - 3} more)` : '';
    const cut =
      this.list.length > shown.length
        ? `; details list the first ${shown.length} of ${this.list.length} problems`
        : '';
    return new HttpError(
      400,
      'bad_request',
      `Invalid configuration document, nothing was changed: ${summary}${more}${cut}`,
      shown,
    );
  }
}

function rawName(entry: unknown): string | undefined {
  if (typeof entry !== 'object' || entry === null || !Object.hasOwn(entry, 'name')) return undefined;
  const name = (entry as { name: unknown }).name;
  return typeof name === 'string' ? name : undefined;
}

/** Marks repeated names; `names` holds each name's first index. */
function checkUnique(
  problems: Problems,
  kind: 'connections' | 'supervisors',
  names: Map<string, number>,
  name: string | undefined,
  index: number,
): void {
  if (name === undefined) return;
  const first = names.get(name);
  if (first === undefined) names.set(name, index);
  else problems.add([kind, index, 'name'], `"${name}" is already the name of ${kind}[${first}]`);
}

interface ParsedConnection {
  index: number;
  plain: PlainFields;
  field: ConnectionSecretField;
  sealed: string | undefined;
}

function parseConnections(
  problems: Problems,
  entries: unknown[],
  existing: ReadonlyMap<string, ConnectionRow>,
): { parsed: ParsedConnection[]; names: Set<string> } {
  const names = new Map<string, number>();
  const parsed: ParsedConnection[] = [];
  entries.forEach((entry, index) => {
    checkUnique(problems, 'connections', names, rawName(entry), index);
    const result = ConnectionEntrySchema.safeParse(entry);
    if (!result.success) {
      problems.addZod(['connections', index], result.error);
      return;
    }
    const { secrets, ...plain } = result.data;
    const field: ConnectionSecretField = plain.kind === 'postgres' ? 'url' : 'password';
    const sealed = secrets === undefined ? undefined : 'url' in secrets ? secrets.url : secrets.password;
    const before = existing.get(plain.name);
    if (before && before.kind !== plain.kind) {
      problems.add(
        ['connections', index, 'kind'],
        `connection ${plain.name} is a ${before.kind} connection: a kind cannot change (delete the connection first)`,
      );
    }
    if (!before && plain.kind === 'postgres' && sealed === undefined) {
      problems.add(
        ['connections', index, 'secrets'],
        'a new postgres connection needs its url: export with ?secrets=encrypted',
        'invalid_type',
      );
    }
    parsed.push({ index, plain, field, sealed });
  });
  return { parsed, names: new Set(names.keys()) };
}

function parseSupervisors(
  problems: Problems,
  entries: unknown[],
  connectionNames: ReadonlySet<string>,
): SupervisorConfigInput[] {
  const names = new Map<string, number>();
  const parsed: SupervisorConfigInput[] = [];
  entries.forEach((entry, index) => {
    checkUnique(problems, 'supervisors', names, rawName(entry), index);
    const result = SupervisorEntrySchema.safeParse(entry);
    if (!result.success) {
      problems.addZod(['supervisors', index], result.error);
      return;
    }
    if (!connectionNames.has(result.data.connection)) {
      problems.add(
        ['supervisors', index, 'connection'],
        `no connection named ${result.data.connection} in the document or the database`,
      );
    }
    parsed.push(result.data);
  });
  return parsed;
}

/**
 * The plan of an import, or a 400 listing every problem. `ring` is asked for only when the
 * document holds secrets: a document that is wrong is a 400 whatever the key; a right one with
 * secrets and no key is the 500 `misconfigured` that `ring` throws, before anything is written.
 */
export async function planImport(
  document: ImportDocument,
  existing: ReadonlyMap<string, ConnectionRow>,
  ring: () => Promise<KeyRing | null>,
  requireRing: () => Promise<KeyRing>,
): Promise<ImportPlan> {
  const problems = new Problems();
  const connections = parseConnections(problems, document.connections, existing);
  const known = new Set([...connections.names, ...existing.keys()]);
  const supervisors = parseSupervisors(problems, document.supervisors, known);

  const withSecrets = connections.parsed.filter((entry) => entry.sealed !== undefined);
  const keys =
    withSecrets.length === 0 ? null : problems.list.length > 0 ? await ring() : await requireRing();
  const planned: PlannedConnection[] = [];
  for (const entry of connections.parsed) {
    let secret: string | undefined;
    if (entry.sealed !== undefined && keys) {
      const opened = await openFromDocument(keys, entry.plain.name, entry.field, entry.sealed);
      if ('problem' in opened)
        problems.add(['connections', entry.index, 'secrets', entry.field], opened.problem);
      else secret = opened.plaintext;
    }
    planned.push({ plain: entry.plain, field: entry.field, secret });
  }
  if (problems.list.length > 0) throw problems.toError();
  return { connections: planned, supervisors, ring: keys };
}
