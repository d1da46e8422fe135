import { z } from '@hono/zod-openapi';
import { PLAIN_SHAPES } from '../schemas/connections';
import { CreateSupervisorConfigBodySchema, SupervisorConfigSchema } from '../schemas/supervisor-configs';

/**
 * The document of GET /api/config/export and POST /api/config/import: the connections and the
 * supervisors kept in the database, by name (ids, versions and who changed what stay behind, so a
 * document moves between deployments). Each entry has exactly the fields, bounds and defaults of
 * the create bodies of /api/connections and /api/supervisors/configs, so whatever those routes
 * refuse an import refuses too. Secrets travel only sealed (see secrets.ts), never in clear.
 */

export const CONFIG_FORMAT = 'watchtower-config';
export const CONFIG_FORMAT_VERSION = 1;

// Far above any real fleet, far below what makes one request costly: every entry is a few
// statements in the import's transaction.
export const MAX_DOCUMENT_CONNECTIONS = 500;
export const MAX_DOCUMENT_SUPERVISORS = 1000;

/** The text of a value sealed by an export: `v1.<keyId>.<iv>.<ciphertext>` (sealed-secrets.ts). */
const SealedSchema = z
  .string()
  .max(4096)
  .regex(
    /^v1\.[0-9a-f]{8}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/,
    'must be a value sealed by GET /api/config/export?secrets=encrypted (never a secret in clear)',
  )
  .openapi({ description: 'Sealed (AES-256-GCM) for the export; never the secret in clear' });

const PasswordSecrets = z
  .strictObject({ password: SealedSchema })
  .optional()
  .openapi({ description: 'Only with ?secrets=encrypted, and only when a password is set' });

const UrlSecrets = z
  .strictObject({ url: SealedSchema })
  .optional()
  .openapi({ description: 'Only with ?secrets=encrypted' });

/**
 * A connection: its fields that are not secret, as the create body has them, and its secret
 * (the Redis password or the Postgres URL) sealed, only when exported with `?secrets=encrypted`.
 * Leaving `secrets` out keeps the secret a connection already has.
 */
export const ConnectionEntrySchema = z
  .discriminatedUnion('kind', [
    PLAIN_SHAPES.redis.extend({ secrets: PasswordSecrets }),
    PLAIN_SHAPES['redis-cluster'].extend({ secrets: PasswordSecrets }),
    PLAIN_SHAPES['redis-sentinel'].extend({ secrets: PasswordSecrets }),
    PLAIN_SHAPES.postgres.extend({ secrets: UrlSecrets }),
  ])
  .openapi('ConfigConnection');

export type ConnectionEntry = z.output<typeof ConnectionEntrySchema>;

/** A supervisor: the create body of /api/supervisors/configs, its connection by name. */
export const SupervisorEntrySchema = CreateSupervisorConfigBodySchema;

const header = {
  format: z.literal(CONFIG_FORMAT).openapi({ description: 'Always `watchtower-config`' }),
  version: z.literal(CONFIG_FORMAT_VERSION).openapi({ description: 'The version of this format: 1' }),
};

/** What an export answers (documented with the full entry schemas). */
export const ConfigDocumentSchema = z
  .object({
    ...header,
    exportedAt: z.iso.datetime({ offset: true }),
    connections: z.array(ConnectionEntrySchema),
    supervisors: z.array(
      SupervisorConfigSchema.omit({
        id: true,
        version: true,
        createdAt: true,
        createdBy: true,
        updatedAt: true,
        updatedBy: true,
      }),
    ),
  })
  .openapi('ConfigDocument');

export type ConfigDocument = z.infer<typeof ConfigDocumentSchema>;

/**
 * What an import takes at first sight: the header and two bounded lists. The entries are checked
 * one by one afterwards (ConnectionEntrySchema, SupervisorEntrySchema, then against each other
 * and the database), so that one answer lists every problem of every entry.
 */
export const ImportDocumentSchema = z
  .strictObject({
    ...header,
    exportedAt: z.iso.datetime({ offset: true }).optional(),
    connections: z
      .array(z.unknown())
      .max(MAX_DOCUMENT_CONNECTIONS)
      .openapi({ description: 'Each a ConfigConnection' }),
    supervisors: z
      .array(z.unknown())
      .max(MAX_DOCUMENT_SUPERVISORS)
      .openapi({ description: 'Each a CreateSupervisorConfigRequest' }),
  })
  .openapi('ConfigImportRequest');

export type ImportDocument = z.output<typeof ImportDocumentSchema>;

const NamesByKind = z.object({ connections: z.array(z.string()), supervisors: z.array(z.string()) });

export type NamesByKind = z.infer<typeof NamesByKind>;

export const ImportResultSchema = z
  .object({
    dryRun: z.boolean().openapi({ description: 'True: this is what the import would do; nothing changed' }),
    created: NamesByKind,
    updated: NamesByKind,
    unchanged: NamesByKind,
    deleted: NamesByKind,
    configVersion: z.number().int().openapi({
      description: 'The configuration version after the import (raised once if anything changed)',
    }),
  })
  .openapi('ConfigImportResult');

export type ImportResult = z.infer<typeof ImportResultSchema>;

export const ExportQuerySchema = z.object({
  secrets: z.enum(['none', 'encrypted']).default('none').openapi({
    description:
      '`encrypted`: each secret sealed with the current WATCHTOWER_ENCRYPTION_KEY, bound to the connection name (not its id), so it opens on import into any deployment with the same key. Never in clear.',
  }),
});

const flag = (description: string) => z.enum(['true', 'false']).default('false').openapi({ description });

export const ImportQuerySchema = z.object({
  prune: flag(
    '`true`: delete the connections and supervisors the document does not hold (409 if a connection to delete is still used by a supervisor that stays)',
  ),
  dryRun: flag('`true`: check and report what would change, change nothing'),
});
