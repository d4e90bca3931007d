export * from './clients.js';
export * from './deploy.js';
export * from './node.js';
export * from './setup.js';
