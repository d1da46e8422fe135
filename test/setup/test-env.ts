/** Where the tests find their services; each can be overridden from the environment. */
export const testEnv = {
  databaseUrl:
    process.env.WATCHTOWER_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/watchtower_test',
  redisUrl: process.env.WATCHTOWER_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
  relayPort: Number(process.env.WATCHTOWER_TEST_RELAY_PORT ?? 18432),
  upstashPort: Number(process.env.WATCHTOWER_TEST_UPSTASH_PORT ?? 18079),
  neonHttpPort: Number(process.env.WATCHTOWER_TEST_NEON_HTTP_PORT ?? 18433),
  upstashToken: 'local-test-token',
  /**
   * The bootstrap admin token (WATCHTOWER_ADMIN_TOKEN) the workerd tests run with. Inside workerd
   * (no `process`) read it as `env.WATCHTOWER_ADMIN_TOKEN`, or use test/workers/support/api.ts.
   */
  adminToken: 'wt_test_admin_0123456789abcdef0123456789',
  /**
   * WATCHTOWER_ENCRYPTION_KEY of the workerd tests (base64 of 32 bytes, fixed so that rows a
   * previous run left behind still open): read it inside workerd as `env.WATCHTOWER_ENCRYPTION_KEY`.
   */
  encryptionKey: 'd2F0Y2h0b3dlci10ZXN0LWtleS0wMTIzNDU2Nzg5YWI=',
  /** Cloudflare Access as the workerd tests configure it; the keys come from a local stand-in. */
  accessTeamDomain: 'watchtower-test.cloudflareaccess.com',
  accessAudience: 'watchtower-test-audience',
};
