/** Storage: where finished files live. The AWS SDK is loaded only when an S3 storage is used. */
export {
  parseDuration,
  parseStorageUrl,
  type StorageFactoryOptions,
  type StorageLocation,
  type StorageSettings,
  type StorageUrlContext,
  storageSettingsFromEnv,
} from './config.js';
export { type DiskStorage, type DiskStorageOptions, diskStorage, type OpenedFile } from './disk.js';
export { storageAt, storageFromUrl } from './factory.js';
export { DEFAULT_PREFIX, type ExportKeyOptions, exportKey, isValidKey, keyFilename } from './keys.js';
export {
  type MergeResult,
  mergeLifecycleRules,
  minimumLifecycleDays,
  type TakeoutRuleOptions,
  takeoutLifecycleRule,
} from './lifecycle.js';
export { type MemoryStorage, type MemoryStorageOptions, memoryStorage } from './memory.js';
export { type S3Storage, type S3StorageOptions, s3Storage } from './s3.js';
export { type SetupOptions, type SetupStep, type StepStatus, setupS3Bucket } from './s3-setup.js';
export { type ServedLinks, type ServedLinksOptions, servedLinks } from './served-links.js';
export { type LinkClaims, type LinkSigner, linkSigner, loadOrCreateSecret } from './signing.js';
export { type SweepOptions, type SweepResult, sweepExpired } from './sweeper.js';
export * from './types.js';
