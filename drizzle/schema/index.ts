export * from './commands';
export * from './connection-health';
export * from './hosts';
export * from './jobs';
export * from './metrics';
export * from './recorder';
export * from './security';
