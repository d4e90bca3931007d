export * from './event-source.js';
export { applyEvent, emptyRecord, mergeRecords } from './merge.js';
export * from './redis-store.js';
export * from './store.js';
export * from './substrate-events.js';
export * from './topology.js';
export * from './tracker.js';
export * from './types.js';
