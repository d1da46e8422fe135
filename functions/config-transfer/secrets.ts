import { type ConnectionSecretField, connectionSecretContext } from '../../core/crypto/reseal-connections';
import {
  type KeyRing,
  openSecret,
  SealedSecretError,
  sealSecret,
  secretContext,
} from '../../core/crypto/sealed-secrets';
import { misconfigured } from '../http-error';
import type { ConnectionRow } from '../queries/connections';

/**
 * Secrets in an exported document. In the database a secret is sealed bound to its row's id,
 * which another deployment (or the same one after a wipe) does not share; so an export opens it
 * and seals it again bound to the connection's *name* and field, and an import opens that and
 * seals it bound to the row it lands in. Either way only sealed values cross the API, with the
 * current WATCHTOWER_ENCRYPTION_KEY: a document opens where that key (or, during a rotation,
 * the previous one) is configured, nowhere else.
 */

/** The additional data of a secret in a document: `watchtower:export:<name>:<field>`. */
export function exportSecretContext(name: string, field: ConnectionSecretField): string {
  return secretContext('export', name, field);
}

/** The field a connection of this kind keeps its secret in, and the sealed value (null: none). */
export function secretOf(row: ConnectionRow): { field: ConnectionSecretField; sealed: string | null } {
  return row.kind === 'postgres'
    ? { field: 'url', sealed: row.urlSealed }
    : { field: 'password', sealed: row.passwordSealed };
}

/**
 * The row's secret sealed for a document. A secret that does not open is a deployment problem
 * (sealed with a key that is configured no more): refused naming the connection, never skipped,
 * so an export never silently lacks a secret.
 */
export async function sealForExport(ring: KeyRing, row: ConnectionRow): Promise<string | null> {
  const { field, sealed } = secretOf(row);
  if (sealed === null) return null;
  let plaintext: string;
  try {
    plaintext = await openSecret(ring, sealed, connectionSecretContext(row.id, field));
  } catch (error) {
    if (error instanceof SealedSecretError) {
      throw misconfigured(`The ${field} of connection ${row.name} cannot be exported: ${error.message}`);
    }
    throw error;
  }
  return sealSecret(ring, plaintext, exportSecretContext(row.name, field));
}

/** A document's sealed secret in clear, or why it does not open (never the value). */
export async function openFromDocument(
  ring: KeyRing,
  name: string,
  field: ConnectionSecretField,
  sealed: string,
): Promise<{ plaintext: string } | { problem: string }> {
  try {
    return { plaintext: await openSecret(ring, sealed, exportSecretContext(name, field)) };
  } catch (error) {
    if (error instanceof SealedSecretError) {
      return { problem: `does not open: ${error.message} (it must come from an export of this connection)` };
    }
    throw error;
  }
}

/** The row's secret in clear, or null when it has none or it does not open (then it is replaced). */
export async function openStored(ring: KeyRing, row: ConnectionRow): Promise<string | null> {
  const { field, sealed } = secretOf(row);
  if (sealed === null) return null;
  try {
    return await openSecret(ring, sealed, connectionSecretContext(row.id, field));
  } catch (error) {
    if (error instanceof SealedSecretError) return null;
    throw error;
  }
}
