import { randomBytes } from 'node:crypto';

const EXPORT_ID = /^exp_[A-Za-z0-9_-]{22}$/;

/** A new export id: `exp_` + 128 random bits, base64url (22 characters). Unguessable. */
export function newExportId(): string {
  return `exp_${randomBytes(16).toString('base64url')}`;
}

/** Whether `id` has the shape of an export id (cheap rejection before any lookup). */
export function isExportId(id: string): boolean {
  return EXPORT_ID.test(id);
}

/** A new delivery (event) id, the `webhook-id` receivers deduplicate on: `msg_` + 128 random bits. */
export function newDeliveryId(): string {
  return `msg_${randomBytes(16).toString('base64url')}`;
}
