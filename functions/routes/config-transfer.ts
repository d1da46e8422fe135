import { createRoute } from '@hono/zod-openapi';
import { bumpConfigVersion, readConfigVersion } from '../../core/config/config-version';
import { createRouter } from '../app';
import { recordAudit } from '../audit';
import { applyImport, type ImportOutcome } from '../config-transfer/apply';
import {
  ConfigDocumentSchema,
  ExportQuerySchema,
  ImportDocumentSchema,
  ImportQuerySchema,
  type ImportResult,
  ImportResultSchema,
} from '../config-transfer/document';
import { exportDocument } from '../config-transfer/export';
import { lockConfiguration, whileLockBusy } from '../config-transfer/lock';
import { allConnections, allSupervisorConfigs } from '../config-transfer/read-all';
import { planImport } from '../config-transfer/validate';
import { keyRing, requireKeyRing } from '../encryption-keys';
import { withRole } from '../middleware/require-role';
import { errorResponses, jsonBody, jsonResponse } from '../schemas/common';

/**
 * The centrally managed configuration as one document, mounted at /api/config: exported to keep
 * it in version control or move it to another deployment, imported back in one transaction.
 * Admins only, both ways: the document names every backend and what runs on it.
 */

const TAGS = ['configuration'];

const exportRoute = createRoute({
  method: 'get',
  path: '/export',
  tags: TAGS,
  summary: 'Export the connections and supervisor configurations as one document',
  description:
    'Connections and supervisors by name, without ids. Secrets are left out unless `?secrets=encrypted`: then each is sealed with the current WATCHTOWER_ENCRYPTION_KEY, bound to its connection name, and opens only where that key is configured. Never in clear. An export with secrets is audited.',
  ...withRole('admin'),
  request: { query: ExportQuerySchema },
  responses: {
    200: jsonResponse(ConfigDocumentSchema, 'The configuration document'),
    ...errorResponses(400, 401, 403),
  },
});

const importRoute = createRoute({
  method: 'post',
  path: '/import',
  tags: TAGS,
  summary: 'Import a configuration document',
  description:
    'The whole document is checked first, each entry like the create routes of /api/connections and /api/supervisors/configs check theirs: any problem answers 400 listing every problem by JSON path, and nothing changes. Then, in one transaction: what is new is created, what differs is updated (its version raised only then), what is the same is left alone, and with `?prune=true` what the document does not hold is deleted (409, and nothing changes, when a connection to delete is still used by a supervisor that stays). A connection without `secrets` keeps the secret it has. One audit entry; the configuration version is raised (and hosts notified) once, if anything changed. `?dryRun=true` answers what would happen and changes nothing. Bodies over the API limit (256 KiB) answer 413. A document with secrets needs WATCHTOWER_ENCRYPTION_KEY (500 `misconfigured` without it). While other changes hold the connections or supervisors for about 10 s, 503: try again.',
  ...withRole('admin'),
  request: { query: ImportQuerySchema, body: jsonBody(ImportDocumentSchema) },
  responses: {
    200: jsonResponse(ImportResultSchema, 'What the import created, updated, left unchanged and deleted'),
    ...errorResponses(400, 401, 403, 409, 413, 415, 503),
  },
});

/** Thrown out of a dry run's transaction, so that everything it did rolls back. */
class DryRunDone extends Error {
  constructor(readonly result: ImportResult) {
    super('dry run');
  }
}

function changedAnything(outcome: ImportOutcome): boolean {
  return [outcome.created, outcome.updated, outcome.deleted].some(
    (names) => names.connections.length + names.supervisors.length > 0,
  );
}

function counts(outcome: ImportOutcome): Record<string, { connections: number; supervisors: number }> {
  return Object.fromEntries(
    Object.entries(outcome).map(([result, names]) => [
      result,
      { connections: names.connections.length, supervisors: names.supervisors.length },
    ]),
  );
}

// The audit entry names what changed, up to a bound (a document may hold a thousand supervisors).
const AUDITED_NAMES = 100;

export const configTransfer = createRouter()
  .openapi(exportRoute, async (c) => {
    const { secrets } = c.req.valid('query');
    const ring = secrets === 'encrypted' ? await requireKeyRing(c.env) : null;
    // One snapshot: a supervisor read is never without the connection it names.
    const current = await c.get('services').transactional.transaction(
      async (tx) => ({
        connections: await allConnections(tx),
        supervisors: await allSupervisorConfigs(tx),
      }),
      { isolationLevel: 'repeatable read', accessMode: 'read only' },
    );
    const document = await exportDocument(current, ring, new Date());
    if (ring) {
      // Sealed secrets leave the deployment: who took them is on record.
      await recordAudit(c, {
        action: 'config.export',
        targetType: 'config',
        result: 'ok',
        details: {
          secrets: 'encrypted',
          connections: document.connections.length,
          supervisors: document.supervisors.length,
          keyId: ring.current.id,
        },
      });
    }
    return c.json(document, 200);
  })
  .openapi(importRoute, async (c) => {
    const document = c.req.valid('json');
    const query = c.req.valid('query');
    const prune = query.prune === 'true';
    const dryRun = query.dryRun === 'true';
    try {
      const transactional = c.get('services').transactional;
      const result = await whileLockBusy(() =>
        transactional.transaction(async (tx) => {
          await lockConfiguration(tx);
          const current = {
            connections: await allConnections(tx),
            supervisors: await allSupervisorConfigs(tx),
          };
          const plan = await planImport(
            document,
            new Map(current.connections.map((row) => [row.name, row])),
            () => keyRing(c.env),
            () => requireKeyRing(c.env),
          );
          const outcome = await applyImport(tx, plan, current, { prune, actor: c.get('actor') });
          const changed = changedAnything(outcome);
          if (dryRun)
            throw new DryRunDone({ dryRun, ...outcome, configVersion: await readConfigVersion(tx) });
          // Once for the whole import: hosts reload once, whatever it changed.
          const configVersion = changed ? await bumpConfigVersion(tx) : await readConfigVersion(tx);
          await recordAudit(
            c,
            {
              action: 'config.import',
              targetType: 'config',
              result: 'ok',
              details: {
                prune,
                counts: counts(outcome),
                created: bounded(outcome.created),
                updated: bounded(outcome.updated),
                deleted: bounded(outcome.deleted),
                configVersion,
              },
            },
            { db: tx },
          );
          return { dryRun, ...outcome, configVersion };
        }),
      );
      return c.json(result, 200);
    } catch (error) {
      if (error instanceof DryRunDone) return c.json(error.result, 200);
      throw error;
    }
  });

function bounded(names: ImportOutcome['created']): ImportOutcome['created'] {
  return {
    connections: names.connections.slice(0, AUDITED_NAMES),
    supervisors: names.supervisors.slice(0, AUDITED_NAMES),
  };
}
