/**
 * What the bucket and the job store hold after a run, read through their own APIs (S3
 * ListObjectsV2 and ListMultipartUploads, SQL), for the harness's end checks.
 */
import { ListMultipartUploadsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { ScaleDeployment } from './deployment.js';

export interface Audit {
  /** Export id → keys of the files stored for it (exactly one each is right). */
  filesById: Map<string, string[]>;
  /** Keys that are not export files (staged rows, anything else). */
  otherKeys: string[];
  /** Unfinished multipart uploads, by key. */
  uploads: string[];
  /** Job records by status. */
  statuses: Record<string, number>;
}

const EXPORT_KEY = /^generated\/\d{4}\/\d{2}\/\d{2}\/(exp_[^/]+)\/a\d+\/[^/]+$/;

export async function auditDeployment(deployment: ScaleDeployment): Promise<Audit> {
  const { s3Client, bucket } = deployment;
  const filesById = new Map<string, string[]>();
  const otherKeys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3Client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    for (const object of page.Contents ?? []) {
      const key = object.Key!;
      const id = EXPORT_KEY.exec(key)?.[1];
      if (id === undefined) otherKeys.push(key);
      else filesById.set(id, [...(filesById.get(id) ?? []), key]);
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  const uploads = await s3Client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  const rows = await deployment.schema.admin.query(
    `SELECT status, count(*)::int AS n FROM ${deployment.schema.name}.takeout_exports GROUP BY status`,
  );
  const statuses = Object.fromEntries(rows.rows.map((r: { status: string; n: number }) => [r.status, r.n]));
  return {
    filesById,
    otherKeys,
    uploads: (uploads.Uploads ?? []).map((u) => u.Key!),
    statuses,
  };
}
