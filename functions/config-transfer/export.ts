import type { KeyRing } from '../../core/crypto/sealed-secrets';
import { plainFieldsOf } from '../connections/connection-values';
import type { ConnectionRow } from '../queries/connections';
import { type SupervisorConfigView, settingsOf } from '../schemas/supervisor-configs';
import { CONFIG_FORMAT, CONFIG_FORMAT_VERSION, type ConfigDocument, type ConnectionEntry } from './document';
import { sealForExport } from './secrets';

/**
 * The export document of the rows read: connections with the fields their create body has, and,
 * with `ring` (`?secrets=encrypted`), their secret sealed for the document; supervisors with
 * their settings, the connection by name.
 */
export async function exportDocument(
  current: { connections: ConnectionRow[]; supervisors: SupervisorConfigView[] },
  ring: KeyRing | null,
  now: Date,
): Promise<ConfigDocument> {
  const connections: ConnectionEntry[] = [];
  for (const row of current.connections) {
    // plainFieldsOf answers a create body's fields for the row's kind: the entry schema's.
    const entry = plainFieldsOf(row) as ConnectionEntry;
    const sealed = ring ? await sealForExport(ring, row) : null;
    if (sealed !== null) entry.secrets = row.kind === 'postgres' ? { url: sealed } : { password: sealed };
    connections.push(entry);
  }
  return {
    format: CONFIG_FORMAT,
    version: CONFIG_FORMAT_VERSION,
    exportedAt: now.toISOString(),
    connections,
    supervisors: current.supervisors.map((row) => settingsOf(row) as ConfigDocument['supervisors'][number]),
  };
}
