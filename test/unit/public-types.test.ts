/**
 * What the public functions take and return can be named by their users: each type is exported
 * from the entry point that exports the function (`npm run typecheck` fails when one is not).
 */
import { describe, expectTypeOf, it } from 'vitest';
import type { RateLimitOptions as HttpRateLimitOptions, TakeoutServerOptions } from '../../src/http/index.js';
import type {
  CreateResult,
  ExportJobs,
  MigratedJobStore,
  MigrationOutcome,
  OpenOptions,
  openDatasetSource,
  openJobStore,
  RateLimitOptions,
  Service,
  TakeoutError,
  TakeoutErrorOptions,
} from '../../src/index.js';
import type {
  LinkClaims,
  LinkSigner,
  linkSigner,
  MergeResult,
  mergeLifecycleRules,
  parseStorageUrl,
  SetupOptions,
  SetupStep,
  StepStatus,
  StorageUrlContext,
  setupS3Bucket,
  TakeoutRuleOptions,
  takeoutLifecycleRule,
} from '../../src/storage/index.js';

describe('public types', () => {
  it('are exported beside the functions that use them', () => {
    expectTypeOf<ConstructorParameters<typeof TakeoutError>[2]>().toEqualTypeOf<
      TakeoutErrorOptions | undefined
    >();
    expectTypeOf<Awaited<ReturnType<ExportJobs['create']>>>().toEqualTypeOf<CreateResult>();
    expectTypeOf<Service['rateLimit']>().toEqualTypeOf<RateLimitOptions | undefined>();
    expectTypeOf<Parameters<typeof openDatasetSource>[3]>().toEqualTypeOf<OpenOptions>();
    expectTypeOf<Awaited<ReturnType<typeof openJobStore>>>().toEqualTypeOf<MigratedJobStore>();
    expectTypeOf<ReturnType<MigratedJobStore['migrate']>>().toEqualTypeOf<
      MigrationOutcome | Promise<MigrationOutcome>
    >();
    expectTypeOf<TakeoutServerOptions['rateLimit']>().toEqualTypeOf<HttpRateLimitOptions | undefined>();
    expectTypeOf<Parameters<typeof parseStorageUrl>[1]>().toEqualTypeOf<StorageUrlContext>();
    expectTypeOf<Parameters<typeof setupS3Bucket>[1]>().toEqualTypeOf<SetupOptions>();
    expectTypeOf<Parameters<typeof takeoutLifecycleRule>[0]>().toEqualTypeOf<TakeoutRuleOptions>();
    expectTypeOf<ReturnType<typeof mergeLifecycleRules>>().toEqualTypeOf<MergeResult>();
    expectTypeOf<ReturnType<typeof linkSigner>>().toEqualTypeOf<LinkSigner>();
    expectTypeOf<Parameters<LinkSigner['sign']>[0]>().toEqualTypeOf<LinkClaims>();
    expectTypeOf<SetupStep['status']>().toEqualTypeOf<StepStatus>();
  });
});
