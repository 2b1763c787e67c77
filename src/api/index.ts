export * from './generated.js';
export * from './conditions.js';
export * from './constants.js';
