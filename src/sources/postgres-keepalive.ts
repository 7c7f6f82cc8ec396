/**
 * TCP keepalive for every PostgreSQL connection Takeout opens (dataset pools, per-export
 * clients, the job store): a peer gone silent (a failover, a dropped NAT flow) is found by the
 * operating system's probes, which fail the socket and the query with it, instead of never.
 */
export const PG_KEEPALIVE = { keepAlive: true, keepAliveInitialDelayMillis: 30_000 } as const;
