export * from './commands';
export * from './connection-health';
export * from './connections';
export * from './hosts';
export * from './jobs';
export * from './metrics';
export * from './recorder';
export * from './security';
